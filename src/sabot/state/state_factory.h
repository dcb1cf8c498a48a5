// Creating keyed state on a backend: the typed state implementation that matches the
// backend (typed hash maps in memory, encoded entries in RocksDB).
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "sabot/state/heap_backend.h"
#include "sabot/state/rocksdb_backend.h"

namespace sabot {

namespace internal {

// Reducing and aggregating state over any ValueState (used for RocksDB, whose values
// are read, folded and written back).
template <typename T>
class ReducingOnValue : public ReducingState<T> {
 public:
  ReducingOnValue(std::unique_ptr<ValueState<T>> value,
                  typename ReducingState<T>::ReduceFunction reduce)
      : value_(std::move(value)), reduce_(std::move(reduce)) {}
  Status Add(const StateKey& key, const T& input) override {
    ARROW_ASSIGN_OR_RAISE(auto current, value_->Get(key));
    return value_->Update(key, current ? reduce_(*current, input) : input);
  }
  Result<std::optional<T>> Get(const StateKey& key) override { return value_->Get(key); }
  Status Clear(const StateKey& key) override { return value_->Clear(key); }

 private:
  std::unique_ptr<ValueState<T>> value_;
  typename ReducingState<T>::ReduceFunction reduce_;
};

template <typename In, typename Acc, typename Out>
class AggregatingOnValue : public AggregatingState<In, Out> {
 public:
  AggregatingOnValue(std::unique_ptr<ValueState<Acc>> value,
                     AggregateFunction<In, Acc, Out> function)
      : value_(std::move(value)), function_(std::move(function)) {}
  Status Add(const StateKey& key, const In& input) override {
    ARROW_ASSIGN_OR_RAISE(auto current, value_->Get(key));
    Acc accumulator = current ? std::move(*current) : function_.create();
    function_.add(&accumulator, input);
    return value_->Update(key, accumulator);
  }
  Result<std::optional<Out>> Get(const StateKey& key) override {
    ARROW_ASSIGN_OR_RAISE(auto current, value_->Get(key));
    if (!current) return std::optional<Out>();
    return std::optional<Out>(function_.result(*current));
  }
  Status Clear(const StateKey& key) override { return value_->Clear(key); }

 private:
  std::unique_ptr<ValueState<Acc>> value_;
  AggregateFunction<In, Acc, Out> function_;
};

inline Result<RocksStateCodec> RocksCodec(KeyedStateBackend* backend,
                                          const StateDescriptor& descriptor) {
  auto* rocks = static_cast<RocksDbBackend*>(backend);
  ARROW_ASSIGN_OR_RAISE(int cf, rocks->ColumnFamily(descriptor));
  return RocksStateCodec(rocks, cf, descriptor.ttl);
}

}  // namespace internal

template <typename T>
Result<std::unique_ptr<ValueState<T>>> MakeValueState(KeyedStateBackend* backend,
                                                      const StateDescriptor& descriptor) {
  if (backend->kind() == StateBackendKind::kMemory) {
    auto* heap = static_cast<HeapBackend*>(backend);
    ARROW_ASSIGN_OR_RAISE(auto* table, heap->GetTable<HeapTable<T>>(descriptor));
    return std::unique_ptr<ValueState<T>>(new HeapValueState<T>(table, heap));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, internal::RocksCodec(backend, descriptor));
  return std::unique_ptr<ValueState<T>>(
      new RocksValueState<T>(std::move(codec), descriptor.ttl));
}

template <typename K, typename V>
Result<std::unique_ptr<MapState<K, V>>> MakeMapState(KeyedStateBackend* backend,
                                                     const StateDescriptor& descriptor) {
  if (backend->kind() == StateBackendKind::kMemory) {
    auto* heap = static_cast<HeapBackend*>(backend);
    // Entries expire one by one: the per-key table itself has no TTL.
    StateDescriptor outer = descriptor;
    outer.ttl = StateTtl{};
    using Inner = typename HeapMapState<K, V>::Inner;
    ARROW_ASSIGN_OR_RAISE(auto* table, heap->GetTable<HeapTable<Inner>>(outer));
    return std::unique_ptr<MapState<K, V>>(
        new HeapMapState<K, V>(table, heap, descriptor.ttl));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, internal::RocksCodec(backend, descriptor));
  return std::unique_ptr<MapState<K, V>>(new RocksMapState<K, V>(std::move(codec)));
}

template <typename T>
Result<std::unique_ptr<ListState<T>>> MakeListState(KeyedStateBackend* backend,
                                                    const StateDescriptor& descriptor) {
  if (backend->kind() == StateBackendKind::kMemory) {
    auto* heap = static_cast<HeapBackend*>(backend);
    ARROW_ASSIGN_OR_RAISE(auto* table,
                          heap->GetTable<HeapTable<std::vector<T>>>(descriptor));
    return std::unique_ptr<ListState<T>>(new HeapListState<T>(table, heap));
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, internal::RocksCodec(backend, descriptor));
  return std::unique_ptr<ListState<T>>(new RocksListState<T>(std::move(codec)));
}

template <typename T>
Result<std::unique_ptr<ReducingState<T>>> MakeReducingState(
    KeyedStateBackend* backend, const StateDescriptor& descriptor,
    typename ReducingState<T>::ReduceFunction reduce) {
  if (backend->kind() == StateBackendKind::kMemory) {
    auto* heap = static_cast<HeapBackend*>(backend);
    ARROW_ASSIGN_OR_RAISE(auto* table,
                          heap->GetTable<HeapTable<std::optional<T>>>(descriptor));
    return std::unique_ptr<ReducingState<T>>(
        new HeapReducingState<T>(table, heap, std::move(reduce)));
  }
  ARROW_ASSIGN_OR_RAISE(auto value, MakeValueState<T>(backend, descriptor));
  return std::unique_ptr<ReducingState<T>>(
      new internal::ReducingOnValue<T>(std::move(value), std::move(reduce)));
}

template <typename In, typename Acc, typename Out>
Result<std::unique_ptr<AggregatingState<In, Out>>> MakeAggregatingState(
    KeyedStateBackend* backend, const StateDescriptor& descriptor,
    AggregateFunction<In, Acc, Out> function) {
  if (backend->kind() == StateBackendKind::kMemory) {
    auto* heap = static_cast<HeapBackend*>(backend);
    ARROW_ASSIGN_OR_RAISE(auto* table,
                          heap->GetTable<HeapTable<std::optional<Acc>>>(descriptor));
    return std::unique_ptr<AggregatingState<In, Out>>(
        new HeapAggregatingState<In, Acc, Out>(table, heap, std::move(function)));
  }
  ARROW_ASSIGN_OR_RAISE(auto value, MakeValueState<Acc>(backend, descriptor));
  return std::unique_ptr<AggregatingState<In, Out>>(
      new internal::AggregatingOnValue<In, Acc, Out>(std::move(value),
                                                     std::move(function)));
}

}  // namespace sabot
