known   = "y"
unknown = "z"
