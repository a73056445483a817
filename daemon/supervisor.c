/* supervisor.c: being written */
