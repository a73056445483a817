/* wifi.c: being written */
