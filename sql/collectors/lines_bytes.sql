-- The block's lines when some are not UTF-8: those become null (the reader shows their bytes escaped).
create or replace temp view lines as select n, try(decode(line)) as line from block_lines
