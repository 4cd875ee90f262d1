-- One row per test per project per run; outcome is Playwright's verdict
-- (expected / unexpected / flaky / skipped), retry the number of retries used.
create or replace view test_results as
select run_id, run_started_at, suite, file, test_id, title, project, status, outcome, duration_ms,
    retry, error_message, commit_sha, branch, source_format, source
from {relation}
