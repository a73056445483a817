/* dns-resolvconf.c: being written */
