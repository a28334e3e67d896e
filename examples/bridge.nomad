# A group in its own network namespace on the client's bridge: the server
# listens on 8080 inside the namespace, and the client maps a dynamic host
# port to it (127.0.0.1 in -dev). Run with `roam agent -dev` as root; see
# docs/networking.md.
job "bridge" {
  datacenters = ["dc1"]

  group "api" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }

    task "server" {
      driver = "raw_exec"
      config {
        command = "/usr/bin/perl"
        args = ["-MIO::Socket::INET", "-e",
          "$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; while ($c = $s->accept) { print $c \"HTTP/1.0 200 OK\\r\\n\\r\\nhello from $ENV{NOMAD_ALLOC_ID} at $ENV{NOMAD_ALLOC_ADDR_http}\\n\"; close $c }"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
