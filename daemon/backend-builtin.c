/* backend-builtin.c: being written */
