/*
 * test_list.h -- the index of every C test, by topic, in running order.
 *
 * Included twice by runner.c with different definitions of TEST_ENTRY.
 * A test named x is defined with TEST(x) in the topic's tests/test_*.c.
 */

/* ---- library: error codes and version (test_library.c) ---- */
TEST_ENTRY(library_error_codes_have_names_and_messages)


/* ---- values (test_value.c) ---- */
TEST_ENTRY(value_scalars_round_trip_through_constructors_and_accessors)
TEST_ENTRY(value_int_and_double_convert_truncating_and_saturating)
TEST_ENTRY(value_accessors_give_defaults_for_null_and_other_types)
TEST_ENTRY(value_lists_grow_past_many_reallocations_and_keep_order)
TEST_ENTRY(value_lists_refuse_more_than_uint32_max_items)
TEST_ENTRY(value_append_takes_ownership_even_on_misuse)
TEST_ENTRY(value_copies_are_deep_and_independent)
TEST_ENTRY(value_pointer_is_destroyed_once_after_the_last_copy)
TEST_ENTRY(value_pointer_copies_freed_on_four_threads_destroy_it_once)
TEST_ENTRY(value_static_bytes_are_used_in_place)
TEST_ENTRY(value_transient_bytes_are_copied)
TEST_ENTRY(value_free_adopts_terminated_text_and_blobs)
TEST_ENTRY(value_other_destructors_run_once_after_copying)
TEST_ENTRY(value_destructor_runs_once_when_text_is_refused)
TEST_ENTRY(value_invalid_utf8_is_refused)
TEST_ENTRY(value_valid_utf8_is_accepted_up_to_each_boundary)
TEST_ENTRY(value_text_may_hold_nul_bytes_with_an_explicit_length)
TEST_ENTRY(value_prints_like_python_repr)
TEST_ENTRY(value_reals_print_as_python_repr_for_many_doubles)
TEST_ENTRY(value_text_and_blobs_print_as_python_repr)
TEST_ENTRY(value_reals_print_the_same_in_any_locale)
TEST_ENTRY(value_print_writes_the_form_and_reports_failing_streams)
TEST_ENTRY(value_million_int_list_prints_and_frees)
TEST_ENTRY(value_deep_nesting_prints_copies_compares_and_frees_without_recursion)
TEST_ENTRY(value_equal_compares_type_and_contents)
TEST_ENTRY(value_shallow_list_views_items_and_frees_only_its_array)
TEST_ENTRY(value_box_and_unbox_move_a_value_in_and_out_of_a_shell)
TEST_ENTRY(value_null_arguments_never_crash)
TEST_ENTRY(value_running_out_of_memory_keeps_every_contract)


/* ---- metadata root and names (test_meta_path.c) ---- */
TEST_ENTRY(meta_path_refuses_unsafe_names_saying_which_rule)
TEST_ENTRY(meta_path_quotes_refused_names_with_escapes)
TEST_ENTRY(meta_path_name_limit_is_exactly_128_bytes)
TEST_ENTRY(meta_path_run_ids_are_run_and_nine_lowercase_hex_digits)
TEST_ENTRY(meta_path_run_ids_differ_across_forked_processes)
TEST_ENTRY(meta_path_recognises_run_ids_and_nothing_else)
TEST_ENTRY(meta_path_generated_dag_names_are_safe_and_fresh)
TEST_ENTRY(meta_path_root_is_explicit_then_environment_then_meta)
TEST_ENTRY(meta_path_absolute_path_folds_dots_lexically)
TEST_ENTRY(meta_path_absolute_path_never_resolves_links)
TEST_ENTRY(meta_path_absolute_path_errors)


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


/* ---- kinds of tasks (test_kinds.c) ---- */
TEST_ENTRY(kinds_map_over_a_static_list)
TEST_ENTRY(kinds_mapped_instances_are_named_by_index)
TEST_ENTRY(kinds_map_over_a_mapped_task)
TEST_ENTRY(kinds_mapped_instances_run_in_parallel)
TEST_ENTRY(kinds_join_receives_every_instance)
TEST_ENTRY(kinds_map_then_join_with_both_final)
TEST_ENTRY(kinds_join_of_an_empty_map_gets_an_empty_list)
TEST_ENTRY(kinds_chunks_split_a_list_result)
TEST_ENTRY(kinds_chunks_are_sized_like_numpy_array_split)
TEST_ENTRY(kinds_chunks_map_and_join_put_together)
TEST_ENTRY(kinds_chunked_task_that_returns_no_list_fails_clearly)
TEST_ENTRY(kinds_run_to_a_step_runs_only_its_ancestors)
TEST_ENTRY(kinds_subdags_merge_without_their_finals)
TEST_ENTRY(kinds_subdags_merge_keeping_their_finals)
TEST_ENTRY(kinds_subdag_name_clash_copies_nothing)
TEST_ENTRY(kinds_cycle_across_a_merge_is_found)
TEST_ENTRY(kinds_an_asset_serves_several_dags)
TEST_ENTRY(kinds_retry_until_success)
TEST_ENTRY(kinds_retry_gives_up_after_the_last_attempt)
TEST_ENTRY(kinds_retry_waits_are_capped)
TEST_ENTRY(kinds_misuse_is_a_clear_error)
TEST_ENTRY(kinds_observer_sees_every_try_and_every_instance)
TEST_ENTRY(kinds_progress_prints_plain_lines_when_not_on_a_terminal)


/* ---- drawing (test_dot.c) ---- */
TEST_ENTRY(dot_has_a_node_per_instance_and_an_edge_per_argument)
TEST_ENTRY(dot_renders_with_graphviz)
TEST_ENTRY(dot_culled_to_a_step_keeps_its_ancestors_only)
TEST_ENTRY(dot_refuses_a_bad_run_id)
TEST_ENTRY(dot_labels_nodes_with_the_runtimes_of_a_run)


/* ---- running: profiling (test_profiling.c) ---- */
TEST_ENTRY(profiling_writes_one_new_file_per_run_under_the_dag_directory)
TEST_ENTRY(profiling_records_every_task_with_every_field)
TEST_ENTRY(profiling_honours_the_metadata_root_settings)
TEST_ENTRY(profiling_that_cannot_start_runs_no_task)
TEST_ENTRY(profiling_never_follows_a_symlinked_dag_directory)
TEST_ENTRY(profiling_records_every_task_of_a_large_parallel_run)
TEST_ENTRY(profiling_records_are_readable_while_the_run_goes_on)
TEST_ENTRY(profiling_killed_run_leaves_a_file_whose_blocks_read)
TEST_ENTRY(profiling_records_retries_with_their_attempts_and_last_error)
TEST_ENTRY(profiling_records_every_instance_of_mapped_and_joined_tasks)


/* ---- reading profiling files (test_profile_reader.c) ---- */


/* ---- SQL: the profiling table (test_vtab.c) ---- */


/* ---- SQL: daglib_drop and the metadata root (test_drop.c) ---- */


/* ---- MetaDB (test_metadb.c) ---- */


/* ---- examples (test_examples.c) ---- */

