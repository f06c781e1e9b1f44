/*
 * pshared -- mutexes in memory shared by processes (a file mapped MAP_SHARED):
 * process-shared and robust, so a process killed while holding one does not
 * block the others (the next locker gets EOWNERDEAD and decides what the
 * half-done state means).
 */
#ifndef OUTPOST_PSHARED_H
#define OUTPOST_PSHARED_H

#include <pthread.h>

/* (Re)initialise MU as a process-shared robust mutex. */
static inline void
pshared_mutex_init(pthread_mutex_t *mu)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(mu, &a);
	pthread_mutexattr_destroy(&a);
}

#endif
