# seeds/jobs/hello-two-groups.nomad in bridge mode, with raw_exec tasks for
# the containers: each group answers on 8080 inside its own namespace and is
# reachable from the host only through its mapped (dynamic) port.
job "hello" {
  datacenters = ["dc1"]
  type        = "service"

  group "app" {
    network {
      mode = "bridge"
      port "app" {
        to = 8080
      }
    }

    task "app" {
      driver = "raw_exec"
      config {
        command = "perl"
        args    = ["-MIO::Socket::INET", "-e", "$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){print $c 'app'; close $c}"]
      }
    }
  }

  group "redis" {
    network {
      mode = "bridge"
      port "redis" {
        to = 6379
      }
    }

    task "redis" {
      driver = "raw_exec"
      config {
        command = "perl"
        args    = ["-MIO::Socket::INET", "-e", "$s=IO::Socket::INET->new(LocalPort=>6379,Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){print $c '+PONG'; close $c}"]
      }
    }
  }
}
