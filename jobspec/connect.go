package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/roam-sh/roam/structs"
)

// connect decodes connect { native, sidecar_service, sidecar_task, gateway }.
func (d *decoder) connect(p **structs.ConsulConnect) func(*hcl.Block) {
	return func(b *hcl.Block) {
		c := &structs.ConsulConnect{}
		d.decode(b.Body,
			attr("native", d.boolean(&c.Native)),
			single("sidecar_service", d.sidecarService(&c.SidecarService)),
			single("sidecar_task", d.sidecarTask(&c.SidecarTask)),
			single("gateway", d.gateway(&c.Gateway)),
		)
		*p = c
	}
}

func (d *decoder) sidecarService(p **structs.ConsulSidecarService) func(*hcl.Block) {
	return func(b *hcl.Block) {
		s := &structs.ConsulSidecarService{}
		d.decode(b.Body,
			attr("tags", d.strs(&s.Tags)),
			attr("port", d.str(&s.Port)),
			attr("disable_default_tcp_check", d.boolean(&s.DisableDefaultTCPCheck)),
			d.stringMap("meta", &s.Meta),
			single("proxy", d.proxy(&s.Proxy)),
		)
		*p = s
	}
}

// proxy decodes the sidecar proxy block.
func (d *decoder) proxy(p **structs.ConsulProxy) func(*hcl.Block) {
	return func(b *hcl.Block) {
		px := &structs.ConsulProxy{}
		d.decode(b.Body,
			attr("local_service_address", d.str(&px.LocalServiceAddress)),
			attr("local_service_port", num(d, &px.LocalServicePort)),
			d.freeForm("config", &px.Config),
			repeated("upstreams", d.upstream(&px.Upstreams)),
			single("expose", d.expose(&px.Expose)),
			single("transparent_proxy", d.transparentProxy(&px.TransparentProxy)),
		)
		*p = px
	}
}

func (d *decoder) upstream(list *[]structs.ConsulUpstream) func(*hcl.Block) {
	return func(b *hcl.Block) {
		u := structs.ConsulUpstream{}
		d.decode(b.Body,
			attr("destination_name", d.str(&u.DestinationName)),
			attr("destination_namespace", d.str(&u.DestinationNamespace)),
			attr("destination_peer", d.str(&u.DestinationPeer)),
			attr("destination_partition", d.str(&u.DestinationPartition)),
			attr("destination_type", d.enum(&u.DestinationType, structs.UpstreamDestinationTypes()...)),
			attr("local_bind_port", num(d, &u.LocalBindPort)),
			attr("local_bind_address", d.str(&u.LocalBindAddress)),
			attr("local_bind_socket_path", d.str(&u.LocalBindSocketPath)),
			attr("local_bind_socket_mode", d.str(&u.LocalBindSocketMode)),
			attr("datacenter", d.str(&u.Datacenter)),
			d.freeForm("config", &u.Config),
			single("mesh_gateway", func(mb *hcl.Block) {
				d.decode(mb.Body, attr("mode", d.enum(&u.MeshGateway.Mode, structs.MeshGatewayModes()...)))
			}),
		)
		*list = append(*list, u)
	}
}

func (d *decoder) expose(p **structs.ConsulExposeConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		e := &structs.ConsulExposeConfig{}
		d.decode(b.Body, repeated("path", func(pb *hcl.Block) {
			var ep structs.ConsulExposePath
			d.decode(pb.Body,
				attr("path", d.str(&ep.Path)),
				attr("protocol", d.enum(&ep.Protocol, structs.ExposeProtocols()...)),
				attr("local_path_port", num(d, &ep.LocalPathPort)),
				attr("listener_port", d.str(&ep.ListenerPort)),
			)
			e.Paths = append(e.Paths, ep)
		}))
		*p = e
	}
}

func (d *decoder) transparentProxy(p **structs.ConsulTransparentProxy) func(*hcl.Block) {
	return func(b *hcl.Block) {
		tp := &structs.ConsulTransparentProxy{}
		d.decode(b.Body,
			attr("uid", d.str(&tp.UID)),
			attr("outbound_port", num(d, &tp.OutboundPort)),
			attr("exclude_inbound_ports", d.strs(&tp.ExcludeInboundPorts)),
			attr("exclude_outbound_ports", set(d, &tp.ExcludeOutboundPorts, listOfNumbers())),
			attr("exclude_outbound_cidrs", d.strs(&tp.ExcludeOutboundCIDRs)),
			attr("exclude_uids", d.strs(&tp.ExcludeUIDs)),
			attr("no_dns", d.boolean(&tp.NoDNS)),
		)
		*p = tp
	}
}

// sidecarTask decodes the overrides of the injected proxy task.
func (d *decoder) sidecarTask(p **structs.SidecarTask) func(*hcl.Block) {
	return func(b *hcl.Block) {
		t := &structs.SidecarTask{}
		d.decode(b.Body,
			attr("name", d.str(&t.Name)),
			attr("driver", d.str(&t.Driver)),
			attr("user", d.str(&t.User)),
			attr("kill_timeout", d.durPtr(&t.KillTimeout)),
			attr("shutdown_delay", d.durPtr(&t.ShutdownDelay)),
			attr("kill_signal", d.str(&t.KillSignal)),
			d.freeForm("config", &t.Config),
			d.stringMap("env", &t.Env),
			d.stringMap("meta", &t.Meta),
			single("resources", d.resources(&t.Resources)),
			single("logs", d.logs(&t.LogConfig)),
			repeated("volume_mount", d.volumeMount(&t.VolumeMounts)),
			d.ignored("identity"),
		)
		*p = t
	}
}

// gateway decodes gateway { proxy, ingress, terminating, mesh }.
func (d *decoder) gateway(p **structs.ConsulGateway) func(*hcl.Block) {
	return func(b *hcl.Block) {
		g := &structs.ConsulGateway{}
		d.decode(b.Body,
			single("proxy", d.gatewayProxy(&g.Proxy)),
			single("ingress", d.ingress(&g.Ingress)),
			single("terminating", d.terminating(&g.Terminating)),
			single("mesh", func(mb *hcl.Block) {
				d.decode(mb.Body)
				g.Mesh = &structs.ConsulMeshConfigEntry{}
			}),
		)
		*p = g
	}
}

func (d *decoder) gatewayProxy(p **structs.ConsulGatewayProxy) func(*hcl.Block) {
	return func(b *hcl.Block) {
		gp := &structs.ConsulGatewayProxy{}
		d.decode(b.Body,
			attr("connect_timeout", d.durPtr(&gp.ConnectTimeout)),
			attr("envoy_gateway_bind_tagged_addresses", d.boolean(&gp.EnvoyGatewayBindTaggedAddresses)),
			attr("envoy_gateway_no_default_bind", d.boolean(&gp.EnvoyGatewayNoDefaultBind)),
			attr("envoy_dns_discovery_type", d.enum(&gp.EnvoyDNSDiscoveryType, "STRICT_DNS", "LOGICAL_DNS")),
			d.freeForm("config", &gp.Config),
			repeated("envoy_gateway_bind_addresses", func(ab *hcl.Block) {
				a := &structs.ConsulGatewayBindAddress{}
				d.decode(ab.Body, attr("address", d.str(&a.Address)), attr("port", num(d, &a.Port)))
				if gp.EnvoyGatewayBindAddresses == nil {
					gp.EnvoyGatewayBindAddresses = map[string]*structs.ConsulGatewayBindAddress{}
				}
				gp.EnvoyGatewayBindAddresses[ab.Labels[0]] = a
			}, "name"),
		)
		*p = gp
	}
}

func (d *decoder) ingress(p **structs.ConsulIngressConfigEntry) func(*hcl.Block) {
	return func(b *hcl.Block) {
		in := &structs.ConsulIngressConfigEntry{}
		d.decode(b.Body,
			single("tls", d.gatewayTLS(&in.TLS)),
			repeated("listener", func(lb *hcl.Block) {
				l := &structs.ConsulIngressListener{Protocol: "tcp"}
				d.decode(lb.Body,
					attr("port", num(d, &l.Port)),
					attr("protocol", d.enum(&l.Protocol, structs.IngressProtocols()...)),
					repeated("service", d.ingressService(&l.Services)),
				)
				in.Listeners = append(in.Listeners, l)
			}),
		)
		*p = in
	}
}

func (d *decoder) ingressService(list *[]*structs.ConsulIngressService) func(*hcl.Block) {
	return func(b *hcl.Block) {
		s := &structs.ConsulIngressService{}
		d.decode(b.Body,
			attr("name", d.str(&s.Name)),
			attr("hosts", d.strs(&s.Hosts)),
			attr("max_connections", numPtr(d, &s.MaxConnections)),
			attr("max_pending_requests", numPtr(d, &s.MaxPendingRequests)),
			attr("max_concurrent_requests", numPtr(d, &s.MaxConcurrentRequests)),
			single("tls", d.gatewayTLS(&s.TLS)),
			single("request_headers", d.headerModifiers(&s.RequestHeaders)),
			single("response_headers", d.headerModifiers(&s.ResponseHeaders)),
		)
		*list = append(*list, s)
	}
}

func (d *decoder) gatewayTLS(p **structs.ConsulGatewayTLSConfig) func(*hcl.Block) {
	return func(b *hcl.Block) {
		t := &structs.ConsulGatewayTLSConfig{}
		d.decode(b.Body,
			attr("enabled", d.boolean(&t.Enabled)),
			attr("tls_min_version", d.str(&t.TLSMinVersion)),
			attr("tls_max_version", d.str(&t.TLSMaxVersion)),
			attr("cipher_suites", d.strs(&t.CipherSuites)),
			single("sds", func(sb *hcl.Block) {
				t.SDS = &structs.ConsulGatewayTLSSDSConfig{}
				d.decode(sb.Body,
					attr("cluster_name", d.str(&t.SDS.ClusterName)),
					attr("cert_resource", d.str(&t.SDS.CertResource)),
				)
			}),
		)
		*p = t
	}
}

func (d *decoder) headerModifiers(p **structs.ConsulHTTPHeaderModifiers) func(*hcl.Block) {
	return func(b *hcl.Block) {
		h := &structs.ConsulHTTPHeaderModifiers{}
		d.decode(b.Body,
			d.stringMap("add", &h.Add),
			d.stringMap("set", &h.Set),
			attr("remove", d.strs(&h.Remove)),
		)
		*p = h
	}
}

func (d *decoder) terminating(p **structs.ConsulTerminatingConfigEntry) func(*hcl.Block) {
	return func(b *hcl.Block) {
		t := &structs.ConsulTerminatingConfigEntry{}
		d.decode(b.Body, repeated("service", func(sb *hcl.Block) {
			s := &structs.ConsulLinkedService{}
			d.decode(sb.Body,
				attr("name", d.str(&s.Name)),
				attr("ca_file", d.str(&s.CAFile)),
				attr("cert_file", d.str(&s.CertFile)),
				attr("key_file", d.str(&s.KeyFile)),
				attr("sni", d.str(&s.SNI)),
			)
			t.Services = append(t.Services, s)
		}))
		*p = t
	}
}
