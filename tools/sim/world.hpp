// The simulated cluster of grove-sim: N nodes, each running the real protocol cores (one
// membership core and a replica core per group it hosts) on one thread, with simulated time,
// network and storage, and every fault drawn from one seed. CAF-free.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "membership/membership_core.hpp"
#include "oracle.hpp"
#include "random.hpp"
#include "replica/replica_core.hpp"

namespace grove::sim {

using timestamp = std::chrono::milliseconds;

/// The size of a run.
struct run_size {
  int nodes = 3;
  int groups = 2;
  int steps = 400;
};

/// How often each fault happens in a run: drawn from the seed, so that some seeds are calm and
/// others hostile (swarm testing).
struct fault_rates {
  double loss = 0;           // replica messages lost
  double duplication = 0;    // replica messages delivered twice
  timestamp jitter{0};       // random extra delay of replica messages (reorders them)
  double partition = 0;      // per step: cut a link between two nodes for a while
  double crash = 0;          // per step: kill -9 a node, restart it later
  double clean_restart = 0;  // per step: stop a node cleanly, restart it later
  double backup = 0;         // per step: take a hot copy of a node's store
  double restore = 0;        // per step: replace a node's store by an older copy, restart it
  double drop = 0;           // per step: drop a group everywhere
  bool durable_everywhere = false;

  static fault_rates draw(random& rng);
};

/// What a run counted (summed over runs in grove-sim's report).
struct fault_counts {
  std::uint64_t lost = 0, duplicated = 0, reordered = 0, partitions = 0, crashes = 0, restarts = 0, restores = 0,
                drops = 0, writes = 0, acknowledged = 0;
};

class world {
public:
  world(std::uint64_t seed, run_size size, bool trace);
  ~world();

  /// Runs the faulty phase, heals everything, lets the cluster settle, and checks every
  /// invariant; the first one broken, if any.
  std::optional<std::string> run();

  const fault_counts& counts() const { return counts_; }
  const oracle& checks() const { return oracle_; }

  // -- scripted runs (regression scenarios): no fault is drawn, the script says what happens ------
  static std::unique_ptr<world> scripted(int nodes, bool durable, bool trace = false);
  void start(int n);
  void stop(int n);   // SIGTERM: final snapshots, store synced
  void crash(int n);  // kill -9: unsynced writes lost
  std::size_t backup(int n);
  void restore(int n, std::size_t backup);  // the node goes down; start it again when the script says
  void cut_link(int a, int b);
  void heal_link(int a, int b);
  void drop(int n, const std::string& group);
  void run_for(timestamp t);
  /// The next `count` replica messages from node `from` to node `to` for which `which` holds are lost.
  void lose(int from, int to, std::function<bool(const actors::replica::peer_message&)> which, int count);
  /// The same for node-to-node (membership) messages, such as relayed digests.
  void lose_node_messages(int from, int to, std::function<bool(const actors::membership::node_message&)> which,
                          int count);
  /// The next node message from `from` to `to` for which `which` holds is lost and closes the
  /// connection between the two nodes, as CAF 0.17 did now and then just after two nodes that
  /// learned of each other through a third began or ended their introduction.
  void close_connection_on(int from, int to, std::function<bool(const actors::membership::node_message&)> which);
  /// Nodes started from now on dial node 0 only and learn of the others from its hello, and only
  /// node 0 listens (as in the three-node test fixtures); by default every node listens and dials
  /// every other.
  void only_first_listens() { only_first_listens_ = true; }
  /// A write at node `n`, run until acknowledged (true) or for 5 s at most.
  bool add(int n, const std::string& group, const std::string& element,
           actors::consistency_level level = actors::consistency_level::local);
  bool increment(int n, const std::string& group, std::uint64_t by,
                 actors::consistency_level level = actors::consistency_level::local);
  // -- failure detection at scale (grove-sim --scale) ----------------------------------------------
  /// Node-to-node (membership) messages sent over whole links so far.
  std::uint64_t node_messages() const { return node_messages_; }
  /// Replica-to-replica messages sent between nodes so far, and digests membership relayed.
  std::uint64_t replica_messages() const { return replica_messages_; }
  /// Chunks of full states among them (a transfer of a small state is one chunk).
  std::uint64_t state_chunks() const { return state_chunks_; }
  std::uint64_t digests_relayed() const;
  /// How many nodes announced node `n` as down (a "down" event naming it), and such events in all.
  std::size_t seen_down_by(int n) const;
  std::size_t downs_seen() const;
  /// Cuts every link of node `n`: it goes silent without closing a connection (a frozen process, a
  /// network that drops its packets).
  void isolate(int n);
  timestamp now() const { return now_; }

  /// Heals every link, starts every node, lets the cluster settle, and checks every invariant.
  std::optional<std::string> settle();
  std::optional<std::uint64_t> counter_value(int n, const std::string& group);
  /// The other nodes node `n`'s membership knows (0 when it is down).
  std::size_t nodes_known(int n) const;
  bool contains(int n, const std::string& group, const std::string& element);

private:
  struct disk;
  struct replica_instance;
  struct process;
  struct node;

  // -- the event loop ---------------------------------------------------------------------------
  void at(timestamp when, std::function<void()> what);
  void after(timestamp delay, std::function<void()> what) { at(now_ + delay, std::move(what)); }
  void run_until(timestamp end);
  void trace(const std::string& what);

  // -- nodes ------------------------------------------------------------------------------------
  void start_node(int n);
  void crash_node(int n);
  void stop_node_cleanly(int n);
  void flush_periodically(int n, std::uint64_t generation);
  void note_drops_known(int n);
  void forget_drops_since(int n, timestamp since);
  process* live(int n, std::uint64_t generation);
  int node_of_key(const std::string& key) const;
  replica_instance* replica_by_id(std::uint64_t id);

  // -- a node's replicas (grove-node's hosting policy) ------------------------------------------
  replica_instance* host(int n, const std::string& group_text);
  void remove_replica(int n, std::uint64_t id);
  void feed_replica(int n, std::uint64_t id, std::function<void(replica_instance&, actors::replica::effects&)> input);
  void carry_out(int n, replica_instance& r, actors::replica::effects& out);
  void storage_request(int n, std::uint64_t replica, actors::replica::storage_request req);

  // -- membership -------------------------------------------------------------------------------
  void feed_membership(int n, std::function<void(process&, actors::membership::effects&)> input);
  void carry_out(int n, actors::membership::effects& out);
  void dial(int n, const actors::membership::dial_request& d);
  void membership_storage(int n, actors::membership::storage_request req);
  void on_event(int n, const actors::membership::node_event& e);

  // -- the network ------------------------------------------------------------------------------
  bool linked(int a, int b) const;
  void send_to_node(int from, const std::string& to_key, actors::membership::node_message m);
  /// The node whose process hosts replica `replica` (-1 when none does).
  int node_hosting(std::uint64_t replica) const;
  void send_to_replica(int from_node, std::uint64_t from, std::uint64_t to, actors::replica::peer_message m);
  void cut(int a, int b, timestamp duration);
  void connection_lost(int a, int b);

  // -- checks -----------------------------------------------------------------------------------
  std::optional<std::string> check_end();
  std::optional<std::string> check_metadata(const std::map<std::string, const actors::crdt_slot*>& states);

  // -- clients and faults -----------------------------------------------------------------------
  std::uint64_t write(int n, const storage::group_key& group, std::uint64_t increment, const std::string& element,
                      actors::consistency level);
  void acknowledge(std::uint64_t number, oracle::write w);
  bool await_write(std::uint64_t number, timestamp patience);
  void take_backup(int n);
  void restore_node(int n, std::size_t backup);
  void drop_group(int n, const std::string& group);
  const actors::crdt_slot* slot_of(int n, const std::string& group);
  void step();
  void client_write(int n);
  void fault();

  std::uint64_t seed_;
  run_size size_;
  bool trace_;
  random rng_;
  fault_rates rates_;
  fault_counts counts_;
  oracle oracle_;
  timestamp now_{0};
  std::uint64_t next_event_ = 0;
  struct event {
    timestamp when;
    std::uint64_t seq;
    std::function<void()> what;
    bool operator>(const event& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  std::priority_queue<event, std::vector<event>, std::greater<event>> events_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::set<std::pair<int, int>> cuts_;  // links that drop everything
  std::uint64_t next_actor_ = 0;
  std::uint64_t next_element_ = 0;
  std::uint64_t next_write_ = 0;
  std::set<std::uint64_t> acknowledged_;
  struct loss {
    int from = 0, to = 0;
    std::function<bool(const actors::replica::peer_message&)> which;
    int count = 0;
  };
  std::vector<loss> losses_;
  struct node_loss {
    int from = 0, to = 0;
    std::function<bool(const actors::membership::node_message&)> which;
    int count = 0;
    bool closes_connection = false;  // the loss closes the connection too (both nodes hear of it)
  };
  std::vector<node_loss> node_losses_;
  bool only_first_listens_ = false;
  std::map<std::pair<int, std::string>, timestamp> drop_known_;  // (node, dropped group) -> known since
  std::uint64_t node_messages_ = 0;
  std::uint64_t replica_messages_ = 0;
  std::uint64_t state_chunks_ = 0;
  std::map<std::string, std::set<int>> seen_down_;  // node name -> the nodes that announced it down
  std::string first_violation_;
};

}  // namespace grove::sim
