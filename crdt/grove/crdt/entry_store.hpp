// entry_store<K, V>: the sorted map a dot_kernel keeps its entries in: a B+-tree of height two, a
// vector of leaves, each a sorted vector of at most `max_leaf` entries.
//
// Why not abseil's btree_map (used before): its nodes are 256 bytes, so with a string key and a
// dot list they hold four entries; decoding (appending in order) cost about 350 instructions per
// entry in splits and rebalancing, and walking it (encode, merge) chased a pointer every four
// entries. Here an append is a push_back, a walk runs over arrays, a lookup is two binary
// searches, and an insert or erase in the middle moves at most `max_leaf` entries of one leaf
// (plus, when a leaf splits or empties, the vector of leaves, one pointer-sized record per leaf).
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace grove::crdt {

template <class K, class V>
class entry_store {
public:
  using value_type = std::pair<K, V>;
  /// A leaf splits in two when it passes max_leaf entries; appends in order fill leaves to
  /// fill_leaf, so that later inserts find room.
  static constexpr std::size_t max_leaf = 64;
  static constexpr std::size_t fill_leaf = 48;

private:
  using leaf = std::vector<value_type>;
  using leaf_list = std::vector<leaf>;

  // Walks the leaves: a pointer into the current leaf, moved to the next leaf at its end.
  template <bool Const>
  class basic_iterator {
    using entry = std::pair<K, V>;
    using list = std::conditional_t<Const, const leaf_list, leaf_list>;
    using item_pointer = std::conditional_t<Const, const entry*, entry*>;

  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = entry;
    using difference_type = std::ptrdiff_t;
    using pointer = item_pointer;
    using reference = std::conditional_t<Const, const entry&, entry&>;

    basic_iterator() = default;
    basic_iterator(list* leaves, std::size_t leaf) : leaves_(leaves), leaf_(leaf) { enter_leaf(); }

    reference operator*() const { return *item_; }
    pointer operator->() const { return item_; }
    basic_iterator& operator++() {
      if (++item_ == leaf_end_) {
        ++leaf_;
        enter_leaf();
      }
      return *this;
    }
    basic_iterator operator++(int) {
      auto old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const basic_iterator& a, const basic_iterator& b) { return a.item_ == b.item_; }
    friend bool operator!=(const basic_iterator& a, const basic_iterator& b) { return !(a == b); }

  private:
    void enter_leaf() {
      if (leaf_ < leaves_->size()) {
        item_ = (*leaves_)[leaf_].data();
        leaf_end_ = item_ + (*leaves_)[leaf_].size();
      } else {
        item_ = leaf_end_ = nullptr;
      }
    }

    list* leaves_ = nullptr;
    std::size_t leaf_ = 0;
    item_pointer item_ = nullptr;
    item_pointer leaf_end_ = nullptr;
  };

public:
  using iterator = basic_iterator<false>;
  using const_iterator = basic_iterator<true>;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    leaves_.clear();
    size_ = 0;
    expected_ = 0;
  }

  iterator begin() { return {&leaves_, 0}; }
  iterator end() { return {&leaves_, leaves_.size()}; }
  const_iterator begin() const { return {&leaves_, 0}; }
  const_iterator end() const { return {&leaves_, leaves_.size()}; }

  /// The value at `key`, or nullptr. Valid until the next change of the store.
  const V* find(const K& key) const { return const_cast<entry_store*>(this)->find(key); }
  V* find(const K& key) {
    if (leaves_.empty()) return nullptr;
    auto& items = leaves_[leaf_for(key)];
    auto it = lower_bound(items, key);
    return it != items.end() && !(key < it->first) ? &it->second : nullptr;
  }
  std::size_t count(const K& key) const { return find(key) ? 1 : 0; }

  /// The value at `key`, inserted (from `args`) if absent; whether it was inserted. The reference
  /// is valid until the next change of the store.
  template <class... Args>
  std::pair<V*, bool> try_emplace(const K& key, Args&&... args) {
    if (leaves_.empty()) leaves_.emplace_back();
    std::size_t i = leaf_for(key);
    auto& items = leaves_[i];
    auto it = lower_bound(items, key);
    if (it != items.end() && !(key < it->first)) return {&it->second, false};
    auto pos = static_cast<std::size_t>(it - items.begin());
    if (pos == items.size()) {
      items.emplace_back(std::piecewise_construct, std::forward_as_tuple(key),
                         std::forward_as_tuple(std::forward<Args>(args)...));
    } else {
      // The entries from `pos` on move up one and the new value is built in the gap. Not
      // vector::emplace nor a move from a new value: GCC 12 takes an empty absl::InlinedVector
      // that is moved for uninitialized (-Wmaybe-uninitialized).
      static_assert(std::is_nothrow_constructible_v<V, Args...>, "the value is rebuilt in place");
      items.push_back(std::move(items.back()));
      std::move_backward(items.begin() + static_cast<std::ptrdiff_t>(pos), items.end() - 2, items.end() - 1);
      items[pos].first = key;
      V& gap = items[pos].second;
      gap.~V();
      ::new (static_cast<void*>(&gap)) V(std::forward<Args>(args)...);
    }
    ++size_;
    if (items.size() <= max_leaf) return {&items[pos].second, true};
    return {split(i, pos), true};
  }
  V& operator[](const K& key) { return *try_emplace(key).first; }

  /// Removes `key`; whether it was there.
  bool erase(const K& key) {
    if (leaves_.empty()) return false;
    std::size_t i = leaf_for(key);
    auto& items = leaves_[i];
    auto it = lower_bound(items, key);
    if (it == items.end() || key < it->first) return false;
    items.erase(it);
    --size_;
    rebalance_after_erase(i);
    return true;
  }

  /// Takes the entries out of a store in key order, freeing each leaf once read: a store rebuilt
  /// from its old self (a merge) does not hold both in memory, and the allocator hands the freed
  /// leaves to the new ones.
  class drain {
  public:
    explicit drain(entry_store& from) : leaves_(std::move(from.leaves_)) { from.clear(); }
    bool done() const { return leaf_ == leaves_.size(); }
    value_type& current() { return leaves_[leaf_][pos_]; }
    void next() {
      if (++pos_ < leaves_[leaf_].size()) return;
      leaf{}.swap(leaves_[leaf_]);
      ++leaf_;
      pos_ = 0;
    }

  private:
    leaf_list leaves_;
    std::size_t leaf_ = 0;
    std::size_t pos_ = 0;
  };

  /// How many entries are about to be appended: appends then size leaves for them.
  void expect(std::size_t n) { expected_ = n; }
  /// Appends an entry whose key is greater than every key held (the caller checks).
  template <class Key, class Value>
  void push_back(Key&& key, Value&& value) {
    if (leaves_.empty() || leaves_.back().size() >= fill_leaf) {
      leaves_.emplace_back();
      std::size_t left = expected_ > size_ ? expected_ - size_ : 0;
      if (left > 0) leaves_.back().reserve(std::min(left, fill_leaf));
    }
    leaves_.back().emplace_back(std::forward<Key>(key), std::forward<Value>(value));
    ++size_;
  }
  /// The entry with the greatest key; the store must not be empty.
  const value_type& back() const { return leaves_.back().back(); }

  friend bool operator==(const entry_store& a, const entry_store& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const entry_store& a, const entry_store& b) { return !(a == b); }

private:
  static typename leaf::iterator lower_bound(leaf& items, const K& key) {
    return std::lower_bound(items.begin(), items.end(), key,
                            [](const value_type& entry, const K& k) { return entry.first < k; });
  }

  // The leaf where `key` is or would go: the first whose greatest key is not less than `key`, or
  // the last one. Precondition: at least one leaf.
  std::size_t leaf_for(const K& key) const {
    auto it = std::partition_point(leaves_.begin(), leaves_.end() - 1,
                                   [&](const leaf& items) { return items.back().first < key; });
    return static_cast<std::size_t>(it - leaves_.begin());
  }

  // Splits leaf i in two; returns where the entry inserted at `pos` of it now is.
  V* split(std::size_t i, std::size_t pos) {
    std::size_t half = leaves_[i].size() / 2;
    leaf upper(std::make_move_iterator(leaves_[i].begin() + static_cast<std::ptrdiff_t>(half)),
               std::make_move_iterator(leaves_[i].end()));
    leaves_[i].erase(leaves_[i].begin() + static_cast<std::ptrdiff_t>(half), leaves_[i].end());
    leaves_.insert(leaves_.begin() + static_cast<std::ptrdiff_t>(i + 1), std::move(upper));
    return pos < half ? &leaves_[i][pos].second : &leaves_[i + 1][pos - half].second;
  }

  // Drops an empty leaf; joins a leaf that fell below a quarter with its successor when they fit
  // in one, so lookups stay two binary searches over well-filled leaves.
  void rebalance_after_erase(std::size_t i) {
    if (leaves_[i].empty()) {
      leaves_.erase(leaves_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    if (leaves_[i].size() >= max_leaf / 4 || i + 1 >= leaves_.size()) return;
    if (leaves_[i].size() + leaves_[i + 1].size() > fill_leaf) return;
    auto& next = leaves_[i + 1];
    leaves_[i].insert(leaves_[i].end(), std::make_move_iterator(next.begin()), std::make_move_iterator(next.end()));
    leaves_.erase(leaves_.begin() + static_cast<std::ptrdiff_t>(i + 1));
  }

  leaf_list leaves_;  // none empty, keys ascending across them
  std::size_t size_ = 0;
  std::size_t expected_ = 0;
};

}  // namespace grove::crdt
