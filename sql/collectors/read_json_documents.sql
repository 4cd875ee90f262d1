-- The records of a whole-document JSON file: the elements of an array ($format = 'array') or
-- objects one after another, pretty-printed or not ($format = 'unstructured'), as JSON text.
select json as line from read_json_objects($path, format := $format)
