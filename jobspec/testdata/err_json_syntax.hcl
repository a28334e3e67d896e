{
  "job": {
    "x": {
      "group": {,
    }
  }
}
