/* common.h — everything the saga daemons share; include this or the single module headers. */
#ifndef COMMON_H
#define COMMON_H

#include "cm_app.h"
#include "cm_auth.h"
#include "cm_config.h"
#include "cm_db.h"
#include "cm_enum.h"
#include "cm_error.h"
#include "cm_http.h"
#include "cm_httpc.h"
#include "cm_id.h"
#include "cm_idem.h"
#include "cm_json.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_mono.h"
#include "cm_outbox.h"
#include "cm_redis.h"

#endif
