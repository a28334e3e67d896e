# Functions whose cost the caller controls are bounded, since job files also
# reach the server through the HTTP parse endpoint.
job "x" {
  meta {
    hash    = bcrypt("secret", 20)
    product = length(setproduct(range(200), range(200)))
  }
}
