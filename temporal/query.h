/* query.h - answering queries against a run (query.c). Not public. */
#ifndef TEMPORAL_QUERY_H
#define TEMPORAL_QUERY_H

#include "wf_run.h"

/* Answers query `type` with its arguments against r: handlers the workflow set, then reg[0..n)
 * registered for its type, then "__stack_trace". Returns true with *json (malloc'd JSON), or
 * false with *errtext (malloc'd, NULL when out of memory): unknown type ("unknown queryType X.
 * KnownQueryTypes=[...]"), undecodable arguments, or the handler's error. Any thread that owns
 * r at the moment. */
bool tc_query_answer(const tc_run *r, const tc_handler *reg, size_t n_reg, const char *type,
                     const tc_pb_payloads *args, char **json, char **errtext);

#endif
