-- The block's lines as the mapping queries read them (collectors/jsonlines.py): all valid UTF-8.
create or replace temp view lines as select n, line from block_lines
