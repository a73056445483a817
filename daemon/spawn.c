/* spawn.c: being written */
