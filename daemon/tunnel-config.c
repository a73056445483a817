/* tunnel-config.c: being written */
