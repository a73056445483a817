/* dns-file.c: being written */
