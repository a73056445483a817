/* links.c: being written */
