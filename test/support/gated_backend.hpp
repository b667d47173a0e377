// A backend that can hold its caller (the storage actor) inside write until the test opens the
// gate, so that a test can fill the actor's mailbox behind a running commit, or see what happens
// before a write reaches the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "grove/storage/backend.hpp"
#include "support/forwarding_backend.hpp"

namespace grove::testing {

// An in-memory backend that can hold the storage actor inside write until the test opens
// the gate, so that the test can fill the actor's mailbox behind a running commit. It records the
// number of operations of every write call.
class gated_backend final : public forwarding_backend {
public:
  struct control {
    std::mutex mutex;
    std::condition_variable cv;
    bool closed_gate = false;
    bool inside = false;  // a write is waiting at the gate
    std::vector<std::size_t> batches;

    void close() {
      std::lock_guard<std::mutex> lock(mutex);
      closed_gate = true;
    }
    void wait_until_inside() {
      std::unique_lock<std::mutex> lock(mutex);
      BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside; }));
    }
    void open() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        closed_gate = false;
      }
      cv.notify_all();
    }
  };

  gated_backend(std::unique_ptr<storage::backend> inner, std::shared_ptr<control> c)
      : forwarding_backend(std::move(inner), "gated "), c_(std::move(c)) {}

  status write(const std::vector<storage::write_op>& entries) override {
    {
      std::unique_lock<std::mutex> lock(c_->mutex);
      c_->batches.push_back(entries.size());
      c_->inside = true;
      c_->cv.notify_all();
      c_->cv.wait(lock, [&] { return !c_->closed_gate; });
      c_->inside = false;
    }
    return forwarding_backend::write(entries);
  }

private:
  std::shared_ptr<control> c_;
};

}  // namespace grove::testing
