# The api group of seeds/jobs/api-mixed-drivers.nomad with its exec task
# (the docker worker comes with the docker driver): bridge mode, static port
# 9090 mapped to 9090 inside the namespace. perl stands in for the API
# binary (local/api in the seed).
job "api" {
  datacenters = ["dc1"]

  group "api" {
    network {
      mode = "bridge"

      port "http" {
        static = "9090"
        to     = "9090"
      }
    }

    task "api" {
      driver = "exec"

      config {
        command = "/usr/bin/perl"
        args    = ["-MIO::Socket::INET", "-e", "$s=IO::Socket::INET->new(LocalPort=>$ENV{NOMAD_PORT_http},Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){print $c qq(api on $ENV{NOMAD_ALLOC_IP_http}); close $c}"]
      }
    }
  }
}
