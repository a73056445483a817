/* dns-resolved.c: being written */
