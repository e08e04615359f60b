/*
 * test_list.h -- the index of every C test, by topic, in running order.
 *
 * Included twice by runner.c with different definitions of TEST_ENTRY.
 * A test named x is defined with TEST(x) in the topic's tests/test_*.c.
 */

/* ---- library: error codes and version (test_library.c) ---- */
TEST_ENTRY(library_error_codes_have_names_and_messages)


/* ---- values (test_value.c) ---- */


/* ---- metadata root and names (test_meta_path.c) ---- */


/* ---- profiling file writer (test_profile_file.c) ---- */


/* ---- building a DAG (test_dag.c) ---- */


/* ---- running: scheduler (test_scheduler.c) ---- */


/* ---- running: failures (test_failure.c) ---- */


/* ---- running: profiling (test_profiling.c) ---- */


/* ---- reading profiling files (test_profile_reader.c) ---- */


/* ---- SQL: the profiling table (test_vtab.c) ---- */


/* ---- SQL: daglib_drop and the metadata root (test_drop.c) ---- */


/* ---- MetaDB (test_metadb.c) ---- */


/* ---- examples (test_examples.c) ---- */

