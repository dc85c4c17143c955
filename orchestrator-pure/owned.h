/* owned.h - the saga ids this process drives right now (queued or running), so a saga is
 * never queued twice here and a saga nobody drives can be told apart. Not thread-safe: the
 * engine calls it under its own mutex. */
#ifndef ORCH_OWNED_H
#define ORCH_OWNED_H

typedef struct owned_set owned_set_t;

/* An empty set, or NULL out of memory. */
owned_set_t *owned_new(void);

/* Frees the set and every id in it. NULL ok. */
void owned_free(owned_set_t *s);

/* Adds saga_id (copied): 1 when added, 0 when it was there already, -1 out of memory. */
int owned_add(owned_set_t *s, const char *saga_id);

/* Removes saga_id; absent is fine. */
void owned_del(owned_set_t *s, const char *saga_id);

#endif
