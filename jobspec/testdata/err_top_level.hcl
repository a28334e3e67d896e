foo = 1

jobs "x" {
}
