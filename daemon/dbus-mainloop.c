/* dbus-mainloop.c: being written */
