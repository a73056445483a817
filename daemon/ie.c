/* ie.c: being written */
