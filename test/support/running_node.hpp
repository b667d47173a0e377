// A Grove node (grove/actors/node.hpp) in a test: an actor system built from a node_config that
// took its grove.* options from command-line arguments and/or an INI text, the node started in it,
// and a log of the node's events. Stops the node before the actor system goes.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/node.hpp"

namespace grove::testing {

using namespace std::chrono_literals;

struct test_node_config : actors::node_config<> {
  test_node_config() {
    set("scheduler.max-threads", 2);
    set("middleman.workers", 0);
  }
};

/// Node events as they arrive, for waiting on one with a deadline.
class event_log {
public:
  void add(const actors::node_event& e) {
    std::lock_guard<std::mutex> guard(mutex_);
    events_.push_back(e);
    arrived_.notify_all();
  }

  /// The first event that satisfies `match`, waiting up to `deadline` for it.
  std::optional<actors::node_event> wait_for(const std::function<bool(const actors::node_event&)>& match,
                                             std::chrono::milliseconds deadline = 20s) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::optional<actors::node_event> found;
    arrived_.wait_for(lock, deadline, [&] {
      for (const auto& e : events_)
        if (match(e)) return (found = e).has_value();
      return false;
    });
    return found;
  }

  std::optional<actors::node_event> wait_for(actors::node_event::kind k, std::chrono::milliseconds deadline = 20s) {
    return wait_for([k](const actors::node_event& e) { return e.what == k; }, deadline);
  }

  std::vector<actors::node_event> all(actors::node_event::kind k) const {
    std::lock_guard<std::mutex> guard(mutex_);
    std::vector<actors::node_event> out;
    for (const auto& e : events_)
      if (e.what == k) out.push_back(e);
    return out;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<actors::node_event> events_;
};

inline caf::behavior event_recorder(caf::event_based_actor*, std::shared_ptr<event_log> log) {
  return {[=](const actors::node_event& e) { log->add(e); }};
}

struct running_node {
  test_node_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<event_log> events = std::make_shared<event_log>();
  caf::actor recorder;
  expected<actors::node> node = error(errc::unavailable, "not started");

  /// Parses `args` (and `ini`, a config file's text, when given), builds the actor system and
  /// starts the node; `node` holds the error when one of them failed (a parse error too).
  explicit running_node(std::vector<std::string> args, const std::string& ini = "",
                        actors::crdt_kinds kinds = actors::crdt_kinds::standard()) {
    std::istringstream in(ini);
    if (auto err = cfg.parse(std::move(args), in)) {
      node = actors::from_caf_error(err);
      return;
    }
    sys = std::make_unique<caf::actor_system>(cfg);
    recorder = sys->spawn(event_recorder, events);
    actors::node_setup setup;
    setup.kinds = std::move(kinds);
    setup.events = recorder;
    node = actors::node::start(*sys, std::move(setup));
  }

  ~running_node() { stop(); }

  void stop() {
    if (node) (void)node->stop();
    node = error(errc::unavailable, "stopped");
    if (recorder) caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    recorder = nullptr;
    sys.reset();
  }

  actors::node& operator*() {
    BOOST_REQUIRE_MESSAGE(node, (node ? "" : node.error().to_string()));
    return *node;
  }
  actors::node* operator->() { return &**this; }
};

}  // namespace grove::testing
