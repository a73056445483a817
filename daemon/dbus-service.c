/* dbus-service.c: being written */
