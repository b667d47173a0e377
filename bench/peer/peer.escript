#!/usr/bin/env escript
%% The Erlang/OTP side of bench/peer: the same work as the project's benchmarks, done with ETS,
%% DETS, gen_server and term_to_binary, so both sides can be compared in one run (the runner,
%% bench/peer/peer_bench.cpp, runs this script and the project's bench programs and prints the
%% table with ratios).
%%
%% Usage: escript peer.escript [key=value ...]
%%   ops=1000000 keys=10000 value_bytes=134 durable_saves=2000 big_bytes=41943040
%%   set_elements=1000000 dir=/tmp only=NAME,NAME (default: every benchmark)
%% Output: JSON lines on stdout. First {"erlang":{...}} (the runtime), then one line per
%% benchmark: {"name":N,"items":I,"seconds":S} where S is the time of the whole work of one run
%% (I operations in it), plus extra fields (bytes) where they say something.
%%
%% Every benchmark runs in a fresh process, so one benchmark's garbage is not the next one's
%% collection. Each side gets its fastest idiomatic form where there is a choice (see the
%% pipelined loads). Keys are {<<"counter">>, <<"group-N">>} (the project's group keys: kind, name),
%% values one binary of value_bytes (the project saves the same encoded counter state).
-module(grove_peer_bench).
-mode(compile).
-behaviour(gen_server).
-export([main/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([ets_insert/1, ets_lookup/1, dets_insert_sync/1, dets_insert_sync_gen_server/1, dets_reopen_list_lookup/1,
         dets_big_insert_sync/1, term_to_binary_write_fsync/1, gen_server_load_pipelined/1, gen_server_call_load/1,
         gen_server_call_increment/1, gen_server_cast_increment/1, orset_term_to_binary/1, orset_binary_to_term/1,
         orset_term_to_binary_compressed/1]).

-define(DEFAULTS, #{ops => 1000000, keys => 10000, value_bytes => 134, durable_saves => 2000,
                    big_bytes => 41943040, big_saves => 10, reopen_runs => 5,
                    set_elements => 1000000, codec_runs => 5, dir => "/tmp"}).

main(Args) ->
    Opts = parse_args(Args, ?DEFAULTS),
    Dir = filename:join(maps:get(dir, Opts), "grove-peer-erlang-" ++ os:getpid()),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    print_runtime(),
    Benchmarks = [ets_insert, ets_lookup, dets_insert_sync, dets_insert_sync_gen_server, dets_reopen_list_lookup,
                  dets_big_insert_sync, term_to_binary_write_fsync, gen_server_load_pipelined,
                  gen_server_call_load, gen_server_call_increment, gen_server_cast_increment,
                  orset_term_to_binary, orset_binary_to_term, orset_term_to_binary_compressed],
    Selected = case maps:get(only, Opts, all) of
                   all -> Benchmarks;
                   Names -> [B || B <- Benchmarks, lists:member(atom_to_list(B), string:split(Names, ",", all))]
               end,
    try
        [print_result(in_fresh_process(fun ?MODULE:B/1, Opts#{dir => Dir})) || B <- Selected]
    after
        _ = file:del_dir_r(Dir)
    end,
    ok.

parse_args([], Opts) -> Opts;
parse_args([Arg | Rest], Opts) ->
    case string:split(Arg, "=") of
        [Text, Value] when Text =:= "dir"; Text =:= "only" -> parse_args(Rest, Opts#{list_to_atom(Text) => Value});
        [Key, Value] -> parse_args(Rest, Opts#{list_to_atom(Key) => list_to_integer(Value)});
        _ -> io:format(standard_error, "peer.escript: expected key=value, got ~s~n", [Arg]), halt(2)
    end.

print_runtime() ->
    io:format("{\"erlang\":{\"otp\":\"~s\",\"erts\":\"~s\",\"emu_flavor\":\"~s\",\"schedulers\":~p}}~n",
              [erlang:system_info(otp_release), erlang:system_info(version),
               erlang:system_info(emu_flavor), erlang:system_info(schedulers)]).

print_result({Name, Items, Seconds, Extra}) ->
    Fields = [io_lib:format(",\"~s\":~p", [K, V]) || {K, V} <- Extra],
    io:format("{\"name\":\"~s\",\"items\":~p,\"seconds\":~.9f~s}~n", [Name, Items, Seconds, Fields]).

%% Runs Benchmark(Opts) in a new process and returns its result. The process keeps its message
%% queue off its heap, like the servers (server_options/0): a million replies may wait in it.
in_fresh_process(Benchmark, Opts) ->
    Parent = self(),
    {Pid, Ref} = spawn_opt(fun() -> Parent ! {self(), Benchmark(Opts)} end,
                           [monitor, {message_queue_data, off_heap}]),
    receive
        {Pid, Result} -> erlang:demonitor(Ref, [flush]), Result;
        {'DOWN', Ref, process, Pid, Reason} -> error({benchmark_failed, Benchmark, Reason})
    end.

%% Seconds that F() takes.
timed(F) ->
    Start = erlang:monotonic_time(),
    F(),
    erlang:convert_time_unit(erlang:monotonic_time() - Start, native, nanosecond) / 1.0e9.

keys(#{keys := N}) ->
    list_to_tuple([{<<"counter">>, <<"group-", (integer_to_binary(I))/binary>>} || I <- lists:seq(0, N - 1)]).

value(#{value_bytes := N}) -> binary:copy(<<"v">>, N).

%% Calls F(Key) for operations 0..Ops-1 on keys round robin.
each_key(_Keys, Ops, Ops, _F) -> ok;
each_key(Keys, I, Ops, F) ->
    F(element(I rem tuple_size(Keys) + 1, Keys)),
    each_key(Keys, I + 1, Ops, F).

%% -- in memory: ETS ---------------------------------------------------------------------------

new_ets() -> ets:new(grove_peer, [set, public, {read_concurrency, true}]).

ets_insert(#{ops := Ops} = Opts) ->
    Keys = keys(Opts), Value = value(Opts), T = new_ets(),
    S = timed(fun() -> each_key(Keys, 0, Ops, fun(K) -> true = ets:insert(T, {K, Value}) end) end),
    {ets_insert, Ops, S, []}.

ets_lookup(#{ops := Ops} = Opts) ->
    Keys = keys(Opts), Value = value(Opts), T = new_ets(),
    [ets:insert(T, {K, Value}) || K <- tuple_to_list(Keys)],
    S = timed(fun() -> each_key(Keys, 0, Ops, fun(K) -> [_] = ets:lookup(T, K) end) end),
    {ets_lookup, Ops, S, []}.

%% -- on disk: DETS ----------------------------------------------------------------------------

open_dets(Name, #{dir := Dir}) ->
    File = filename:join(Dir, atom_to_list(Name) ++ ".dets"),
    {ok, T} = dets:open_file(Name, [{file, File}, {type, set}]),
    {T, File}.

%% Each insert followed by dets:sync (on disk when it returns), one at a time.
dets_insert_sync(#{durable_saves := N} = Opts) ->
    Keys = keys(Opts), Value = value(Opts),
    {T, File} = open_dets(peer_durable, Opts),
    S = timed(fun() -> each_key(Keys, 0, N, fun(K) -> ok = dets:insert(T, {K, Value}), ok = dets:sync(T) end) end),
    ok = dets:close(T), ok = file:delete(File),
    {dets_insert_sync, N, S, []}.

%% The same through a gen_server that owns the table: one gen_server:call per save.
dets_insert_sync_gen_server(#{durable_saves := N} = Opts) ->
    Keys = keys(Opts), Value = value(Opts),
    {T, File} = open_dets(peer_durable_server, Opts),
    {ok, Server} = gen_server:start_link(?MODULE, {dets, T}, server_options()),
    S = timed(fun() -> each_key(Keys, 0, N, fun(K) -> ok = gen_server:call(Server, {save, K, Value}, infinity) end) end),
    ok = gen_server:stop(Server), ok = dets:close(T), ok = file:delete(File),
    {dets_insert_sync_gen_server, N, S, []}.

%% Reopen a table of `keys` entries, list its keys and look each one up, close it.
dets_reopen_list_lookup(#{keys := NKeys, reopen_runs := Runs} = Opts) ->
    Keys = keys(Opts), Value = value(Opts),
    {T0, File} = open_dets(peer_reopen, Opts),
    ok = dets:insert(T0, [{K, Value} || K <- tuple_to_list(Keys)]),
    ok = dets:close(T0),
    S = timed(fun() -> [reopen_once(File, NKeys) || _ <- lists:seq(1, Runs)] end),
    ok = file:delete(File),
    {dets_reopen_list_lookup, NKeys, S / Runs, []}.

reopen_once(File, NKeys) ->
    {ok, T} = dets:open_file(peer_reopen, [{file, File}, {type, set}]),
    Listed = dets:select(T, [{{'$1', '_'}, [], ['$1']}]),
    NKeys = length([V || K <- Listed, [{_, V}] <- [dets:lookup(T, K)]]),
    ok = dets:close(T).

big_value(#{big_bytes := N}) ->
    %% Like the project's: mostly one byte, a different one every 4 KiB.
    << <<(if I rem 4096 =:= 0 -> (I bsr 12) band 255; true -> $x end)>> || I <- lists:seq(0, N - 1) >>.

%% One big value inserted and synced (two keys in turn), `big_saves` times; seconds per save.
dets_big_insert_sync(#{big_saves := Runs} = Opts) ->
    Big = big_value(Opts),
    {T, File} = open_dets(peer_big, Opts),
    S = timed(fun() ->
                      [begin ok = dets:insert(T, {{<<"blob">>, I rem 2}, Big}), ok = dets:sync(T) end
                       || I <- lists:seq(1, Runs)]
              end),
    ok = dets:close(T), ok = file:delete(File),
    {dets_big_insert_sync, 1, S / Runs, [{bytes, byte_size(Big)}]}.

%% The same bytes as term_to_binary, written to a file and fsynced (file:sync), `big_saves` times.
term_to_binary_write_fsync(#{big_saves := Runs, dir := Dir} = Opts) ->
    Big = big_value(Opts),
    File = filename:join(Dir, "big.term"),
    S = timed(fun() ->
                      [begin
                           Bin = term_to_binary(Big),
                           {ok, F} = file:open(File, [write, raw, binary]),
                           ok = file:write(F, Bin), ok = file:sync(F), ok = file:close(F)
                       end || _ <- lists:seq(1, Runs)]
              end),
    ok = file:delete(File),
    {term_to_binary_write_fsync, 1, S / Runs, [{bytes, byte_size(Big)}]}.

%% -- request/response and one-way: gen_server ---------------------------------------------------

init({dets, T}) -> {ok, {dets, T}};
init({ets, T}) -> {ok, {ets, T}};
init(counter) -> {ok, 0}.

handle_call({save, K, V}, _From, {dets, T} = S) ->
    ok = dets:insert(T, {K, V}),
    {reply, dets:sync(T), S};
handle_call({load, K}, _From, {ets, T} = S) ->
    {reply, ets:lookup(T, K), S};
handle_call(increment, _From, N) ->
    {reply, ok, N + 1};
handle_call(get, _From, N) ->
    {reply, N, N}.

handle_cast(increment, N) -> {noreply, N + 1}.

handle_info(_, S) -> {noreply, S}.

%% A server that may have a million requests waiting keeps its message queue off its heap:
%% otherwise every garbage collection of the server walks the whole queue (Erlang's advice for
%% processes that receive floods; without it pipelined requests run 20 to 50 times slower).
server_options() -> [{spawn_opt, [{message_queue_data, off_heap}]}].

load_server(Opts) ->
    T = new_ets(), Value = value(Opts),
    [ets:insert(T, {K, Value}) || K <- tuple_to_list(keys(Opts))],
    {ok, Server} = gen_server:start_link(?MODULE, {ets, T}, server_options()),
    Server.

%% All loads sent, then every reply collected, in gen_server's own call protocol with a plain
%% reference per request ({'$gen_call', {Pid, Ref}, Request}, answered Pid ! {Ref, Reply} by the
%% server's handle_call): Erlang's fastest pipelined form. gen_server:send_request, which adds a
%% monitor and an alias per request, ran 3 to 4 times slower on the same machine.
gen_server_load_pipelined(#{ops := Ops} = Opts) ->
    Keys = keys(Opts), Server = load_server(Opts),
    S = timed(fun() ->
                      Requests = send_loads(Server, Keys, 0, Ops, []),
                      lists:foreach(fun(R) -> receive {R, [_]} -> ok end end, lists:reverse(Requests))
              end),
    ok = gen_server:stop(Server),
    {gen_server_load_pipelined, Ops, S, []}.

send_loads(_Server, _Keys, Ops, Ops, Acc) -> Acc;
send_loads(Server, Keys, I, Ops, Acc) ->
    R = make_ref(),
    Server ! {'$gen_call', {self(), R}, {load, element(I rem tuple_size(Keys) + 1, Keys)}},
    send_loads(Server, Keys, I + 1, Ops, [R | Acc]).

%% gen_server:call, one load at a time.
gen_server_call_load(#{ops := Ops} = Opts) ->
    Keys = keys(Opts), Server = load_server(Opts),
    S = timed(fun() -> each_key(Keys, 0, Ops, fun(K) -> [_] = gen_server:call(Server, {load, K}, infinity) end) end),
    ok = gen_server:stop(Server),
    {gen_server_call_load, Ops, S, []}.

gen_server_call_increment(#{ops := Ops}) ->
    {ok, Server} = gen_server:start_link(?MODULE, counter, server_options()),
    S = timed(fun() -> call_increments(Server, Ops) end),
    Ops = gen_server:call(Server, get),
    ok = gen_server:stop(Server),
    {gen_server_call_increment, Ops, S, []}.

call_increments(_Server, 0) -> ok;
call_increments(Server, N) -> ok = gen_server:call(Server, increment, infinity), call_increments(Server, N - 1).

%% One-way: every increment cast, timed until the server has applied the last (a call queued
%% behind them answers with the count).
gen_server_cast_increment(#{ops := Ops}) ->
    {ok, Server} = gen_server:start_link(?MODULE, counter, server_options()),
    S = timed(fun() -> cast_increments(Server, Ops), Ops = gen_server:call(Server, get, infinity) end),
    ok = gen_server:stop(Server),
    {gen_server_cast_increment, Ops, S, []}.

cast_increments(_Server, 0) -> ok;
cast_increments(Server, N) -> ok = gen_server:cast(Server, increment), cast_increments(Server, N - 1).

%% -- codec: an OR-set of set_elements -----------------------------------------------------------

%% Grove's ORSet kept as Erlang terms: every element with the dot of its add ({replica, counter}),
%% and the causal context (the replica's counter), like the project's orset of one replica.
orset(#{set_elements := N}) ->
    Elements = maps:from_list([{<<"e", (integer_to_binary(I))/binary>>, [{'replica-a', I + 1}]}
                               || I <- lists:seq(0, N - 1)]),
    {orset, 'replica-a', Elements, #{'replica-a' => N}}.

codec_runs(Name, Runs, Items, F, Extra) ->
    S = timed(fun() -> [F() || _ <- lists:seq(1, Runs)] end),
    {Name, Items, S / Runs, Extra}.

orset_term_to_binary(#{set_elements := N, codec_runs := Runs} = Opts) ->
    Set = orset(Opts),
    Bytes = byte_size(term_to_binary(Set)),
    codec_runs(orset_term_to_binary, Runs, N, fun() -> term_to_binary(Set) end, [{bytes, Bytes}]).

orset_binary_to_term(#{set_elements := N, codec_runs := Runs} = Opts) ->
    Bin = term_to_binary(orset(Opts)),
    codec_runs(orset_binary_to_term, Runs, N, fun() -> binary_to_term(Bin) end, [{bytes, byte_size(Bin)}]).

%% term_to_binary with zlib at level 6 (the default level of zlib and of {compressed, Level}).
orset_term_to_binary_compressed(#{set_elements := N, codec_runs := Runs} = Opts) ->
    Set = orset(Opts),
    Plain = byte_size(term_to_binary(Set)),
    Compressed = byte_size(term_to_binary(Set, [{compressed, 6}])),
    codec_runs(orset_term_to_binary_compressed, Runs, N, fun() -> term_to_binary(Set, [{compressed, 6}]) end,
               [{bytes, Plain}, {compressed_bytes, Compressed}]).
