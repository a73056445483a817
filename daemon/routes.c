/* routes.c: being written */
