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
TEST_ENTRY(dag_keeps_its_name_and_description)
TEST_ENTRY(dag_without_a_name_gets_a_safe_generated_one)
TEST_ENTRY(dag_refuses_unsafe_names_and_writes_nothing)
TEST_ENTRY(dag_name_message_says_what_is_wrong)
TEST_ENTRY(dag_refuses_unknown_flags)
TEST_ENTRY(dag_refuses_a_duplicate_task_name)
TEST_ENTRY(dag_refuses_bad_task_names)
TEST_ENTRY(dag_null_arguments_are_misuse_not_crashes)
TEST_ENTRY(dag_worker_counts_must_be_sane)
TEST_ENTRY(dag_codec_must_be_known)
TEST_ENTRY(dag_unknown_input_is_reported_when_it_runs)
TEST_ENTRY(dag_cycle_is_reported_with_the_tasks_on_it)
TEST_ENTRY(dag_task_that_needs_itself_is_a_cycle)
TEST_ENTRY(dag_finds_tasks_by_name)


/* ---- running: scheduler (test_scheduler.c) ---- */
TEST_ENTRY(scheduler_runs_the_page_example)
TEST_ENTRY(scheduler_passes_inputs_then_dependencies_in_declared_order)
TEST_ENTRY(scheduler_passes_dependency_results_like_the_original)
TEST_ENTRY(scheduler_passes_many_arguments)
TEST_ENTRY(scheduler_returns_several_finals_as_a_tuple_in_marking_order)
TEST_ENTRY(scheduler_without_finals_returns_null)
TEST_ENTRY(scheduler_runs_every_shape_on_any_number_of_workers)
TEST_ENTRY(scheduler_survives_many_runs_of_a_small_graph)
TEST_ENTRY(scheduler_runs_independent_tasks_at_the_same_time)
TEST_ENTRY(scheduler_worker_index_is_within_the_worker_count)
TEST_ENTRY(scheduler_frees_each_result_after_its_last_consumer)
TEST_ENTRY(scheduler_frees_results_when_several_workers_share_them)
TEST_ENTRY(scheduler_refuses_to_run_or_change_a_running_dag)
TEST_ENTRY(scheduler_gives_each_task_its_name_and_user_data)
TEST_ENTRY(scheduler_gives_each_run_a_new_run_id)


/* ---- running: failures (test_failure.c) ---- */
TEST_ENTRY(failure_skips_dependants_and_runs_independent_branches)
TEST_ENTRY(failure_message_names_the_task_and_counts_the_damage)
TEST_ENTRY(failure_is_not_sticky_the_dag_runs_again)
TEST_ENTRY(failure_of_many_tasks_is_counted)
TEST_ENTRY(failure_when_a_result_is_not_valid_utf8)
TEST_ENTRY(failure_without_a_message_still_reads_well)


/* ---- running: profiling (test_profiling.c) ---- */


/* ---- reading profiling files (test_profile_reader.c) ---- */


/* ---- SQL: the profiling table (test_vtab.c) ---- */


/* ---- SQL: daglib_drop and the metadata root (test_drop.c) ---- */


/* ---- MetaDB (test_metadb.c) ---- */


/* ---- examples (test_examples.c) ---- */

