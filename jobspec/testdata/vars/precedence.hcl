from_file      = "file"
from_json_file = "file"
from_flag      = "file"
labels = {
  team = "b"
  env  = "prod"
}
