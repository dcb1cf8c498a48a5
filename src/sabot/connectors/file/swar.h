// Byte searches eight bytes at a time in a 64-bit word (SWAR), for the text parsers'
// scans of plain runs: most keys, values and CSV fields end within a word or two.
#pragma once

#include <cstdint>

namespace sabot::swar {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

/// Returns a word whose high bit is set in every byte of `word` equal to `byte`. Bits
/// above the first match may be spurious (borrows): use only the lowest set bit.
inline uint64_t BytesEqual(uint64_t word, uint8_t byte) {
  const uint64_t x = word ^ (kOnes * byte);
  return (x - kOnes) & ~x & kHighBits;
}

/// Returns a word whose lowest set bit is the high bit of the first byte of `word`
/// below 0x20 (a control character); as BytesEqual, only the lowest bit is meaningful.
inline uint64_t ControlBytes(uint64_t word) {
  return (word - kOnes * 0x20) & ~word & kHighBits;
}

}  // namespace sabot::swar
