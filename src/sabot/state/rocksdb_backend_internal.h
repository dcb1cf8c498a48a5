// Internal to the RocksDB backend: the state shared by rocksdb_backend.cc (state
// access) and rocksdb_checkpoint.cc (incremental checkpoints and their restore).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sabot/state/rocksdb_backend.h"

namespace sabot {

/// An IOError naming the failed RocksDB call, or OK.
Status FromRocks(const rocksdb::Status& status, const char* what);
/// 16 random hex digits.
std::string RandomInstanceId();

struct RocksDbBackend::Impl {
  std::string directory;
  rocksdb::Options options;
  std::unique_ptr<rocksdb::DB> db;
  // Column families of the states, by index; their options and names (to reopen the
  // instance from checkpoint files).
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  std::vector<rocksdb::ColumnFamilyOptions> family_options;
  std::vector<std::string> family_names;
  // The default column family's handle once the instance was reopened with explicit
  // column families (restore); unused by states.
  rocksdb::ColumnFamilyHandle* default_family = nullptr;
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters;
  std::vector<bool> has_ttl;
  std::vector<bool> is_timers;  // column families of timer states
  std::map<std::string, int> family_of_state;
  rocksdb::ReadOptions read;
  rocksdb::WriteOptions write;

  // Incremental checkpoints.
  bool incremental = true;
  std::string staging;   // <directory>.checkpoints: hard-linked checkpoint files
  std::string instance;  // random hex: makes shared file names unique
  // Shared name of each local SST file (restored files keep the name they had).
  std::map<std::string, std::string> shared_of_local;
  bool restored = false;
  int64_t restores = 0;

  // Write-back caches of the states.
  int64_t value_cache_bytes = 0;
  std::vector<RocksStateCache*> caches;
};

}  // namespace sabot
