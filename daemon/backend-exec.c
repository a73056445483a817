/* backend-exec.c: being written */
