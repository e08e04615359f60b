/*
 * profile_schema.c -- the profiling record's schema, names and symbols.
 *
 * Every field after the sixth carries a default, and the header of every
 * file gets this exact text (avro-c would drop the defaults if it wrote the
 * header itself), so readers that resolve old files against the newest
 * schema -- Spark, Hive, Trino -- fill the gaps instead of failing.
 */
#include "profile_schema.h"

const char *const profile_field_names[PF_COUNT] = {
    [PF_DAG_NAME] = "dag_name",
    [PF_DAG_DESCRIPTION] = "dag_description",
    [PF_RUN_ID] = "run_id",
    [PF_TASK_NAME] = "task_name",
    [PF_TASK_DESCRIPTION] = "task_description",
    [PF_TASK_RUNTIME] = "task_runtime",
    [PF_STARTED_AT] = "started_at",
    [PF_ENDED_AT] = "ended_at",
    [PF_STATUS] = "status",
    [PF_ATTEMPTS] = "attempts",
    [PF_WORKER] = "worker",
    [PF_ERROR] = "error",
};

const char *const profile_status_names[PROFILE_STATUS_COUNT] = {
    [PROFILE_OK] = "ok",
    [PROFILE_FAILED] = "failed",
    [PROFILE_SKIPPED] = "skipped",
};

const char profile_schema_json[] =
    "{\"type\":\"record\",\"name\":\"" PROFILE_RECORD_NAME "\","
    "\"namespace\":\"" PROFILE_RECORD_NAMESPACE "\",\"fields\":["
    "{\"name\":\"dag_name\",\"type\":\"string\"},"
    "{\"name\":\"dag_description\",\"type\":\"string\"},"
    "{\"name\":\"run_id\",\"type\":\"string\"},"
    "{\"name\":\"task_name\",\"type\":\"string\"},"
    "{\"name\":\"task_description\",\"type\":\"string\"},"
    "{\"name\":\"task_runtime\",\"type\":\"double\"},"
    "{\"name\":\"started_at\",\"type\":[\"null\","
    "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}],"
    "\"default\":null},"
    "{\"name\":\"ended_at\",\"type\":[\"null\","
    "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}],"
    "\"default\":null},"
    "{\"name\":\"status\",\"type\":{\"type\":\"enum\",\"name\":\"task_status\","
    "\"symbols\":[\"ok\",\"failed\",\"skipped\"],\"default\":\"ok\"},"
    "\"default\":\"ok\"},"
    "{\"name\":\"attempts\",\"type\":\"int\",\"default\":1},"
    "{\"name\":\"worker\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"error\",\"type\":[\"null\",\"string\"],\"default\":null}"
    "]}";
