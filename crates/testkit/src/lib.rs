//! Test support for Syncdesk: the loopback test servers and a fault-injecting HTTP proxy.
