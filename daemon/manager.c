/* manager.c: being written */
