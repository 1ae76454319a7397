// multiproc's native addon: the few things JavaScript cannot do by itself.
//
// 1. A process-wide stash of SharedArrayBuffer backing stores. Worker threads
//    are separate V8 isolates; a SharedArrayBuffer can reach another isolate
//    only through postMessage. Queues and pipes move bytes through a ring in
//    shared memory, so a library object inside a message (a Lock, a Value,
//    another Queue) cannot ride along. Instead the sender stashes the buffer's
//    backing store here under a numeric ticket, writes the ticket into the
//    ring, and the receiver takes it back out as a SharedArrayBuffer over the
//    same memory. This addon's static state is shared by every thread of the
//    process, which is exactly the reach a thread-context queue needs.
//
// 2. A process-wide table of named SharedArrayBuffers, so that SharedMemory
//    blocks created in one worker thread can be attached by name in another
//    (Python's SharedMemory(name=...)) in the thread context.
//
// 3. allocate(): SharedArrayBuffers whose memory comes straight from mmap and goes
//    back to the OS when freed (queue and pipe rings, spill segments, big frames).
//    glibc's malloc keeps freed 1 MiB blocks resident once its dynamic mmap
//    threshold has grown, so thousands of created-and-dropped queues held ~1.5 GB
//    of RSS. An allocation can also OWN stash tickets (stash(buffer, owner)): the
//    tickets of the items still unread in a ring are dropped with the ring, as
//    Python's queue items die with the queue.
//
// 4. copy(): memcpy between any two byte ranges of ArrayBuffers, SharedArrayBuffers
//    or views over them. V8 copies into and out of a SharedArrayBuffer with relaxed
//    atomic stores (TypedArray.prototype.set), several times slower than memcpy for
//    big payloads; queue frames of tens of KiB cross that boundary twice.
//
// 4d. privateCopy(): a private copy of a big task argument for a worker thread, in reused
//    memory with streamed stores, and warm() to read it into the worker core's caches.
//
// 4. OS shared memory and futexes for the "process" context: shmCreate/shmOpen
//    map a POSIX shared-memory object (shm_open + mmap MAP_SHARED) as a real
//    SharedArrayBuffer; futexWait/futexWake/futexWaitAsync are Atomics.wait/
//    notify/waitAsync over the kernel futex, which (unlike V8's in-process
//    emulation) wakes waiters in other OS processes.
//
// 5. setParentDeathSignal(): the kernel's parent-death signal, so pool workers and
//    daemon processes die with their parent even while their JavaScript is busy.
//
// 6. exitNow(): _exit, for a child process that has nothing left to do (process-entry.ts).
//
// The addon is context-aware (NODE_MODULE_INIT) so each worker thread can load it.
// It uses V8's API, not Node-API: items 1-4 create or take SharedArrayBuffers over
// memory the addon owns, which Node-API cannot express. It builds as C++20 against the
// headers of Node 20.19 through 26 and uses nothing those lines moved or deprecated.
#include <node.h>
#include <uv.h>
#include <v8.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using v8::BigInt;
using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::Value;

// An mmap'ed region made by allocate(), and the stash tickets it owns. Lives until
// its backing store's deleter (FreeAllocation) runs.
struct Allocation {
  void* base;
  size_t mapped;
  std::unordered_set<uint64_t> tickets;
  Allocation* next_pending = nullptr;  // FreeAllocation's work list on one thread
};

// A stashed buffer. A ticket whose buffer IS its owner holds it weakly: a strong
// reference would keep the owner alive forever (a queue put on itself).
struct StashEntry {
  std::shared_ptr<v8::BackingStore> store;
  std::weak_ptr<v8::BackingStore> weak;
  Allocation* owner;
};

// Guards stash_table, allocations, next_ticket, pool_stores and every
// Allocation's ticket set. Never release a BackingStore while holding it: that
// can run FreeAllocation, which takes it again. Move stores out, unlock, release.
std::mutex stash_mutex;
// Heap-allocated and never destroyed: a static table's destructor would free
// backing stores after V8 is torn down at process exit and crash (SIGSEGV)
// whenever a stashed buffer was never taken (an unread queue item).
std::unordered_map<uint64_t, StashEntry>& stash_table = *new std::unordered_map<uint64_t, StashEntry>();
// Live allocations by base address (stash's owner lookup).
std::unordered_map<const void*, Allocation*>& allocations = *new std::unordered_map<const void*, Allocation*>();
uint64_t next_ticket = 1;

// Removes `ticket` from the table (and from its owner's record) and returns its
// store, or null if unknown (or a weak self-ticket whose owner is gone). Caller
// holds stash_mutex and releases the result after unlocking.
std::shared_ptr<v8::BackingStore> EraseTicketLocked(uint64_t ticket, bool* found_ticket) {
  auto found = stash_table.find(ticket);
  *found_ticket = found != stash_table.end();
  if (!*found_ticket) return nullptr;
  std::shared_ptr<v8::BackingStore> store =
      found->second.store ? std::move(found->second.store) : found->second.weak.lock();
  if (found->second.owner) found->second.owner->tickets.erase(ticket);
  stash_table.erase(found);
  return store;
}

// Work list of FreeAllocation on this thread: releasing an owner's tickets can free
// other owners (a queue inside a queue), whose deleters run nested; they are queued
// here and freed by the outermost call, so a long chain does not grow the stack.
thread_local Allocation* pending_head = nullptr;
thread_local bool freeing = false;

// The deleter of allocate()'s backing stores. Runs on whatever thread frees the
// store last (a GC, V8's background sweeper, an isolate's teardown): it touches only
// this file's tables, never V8.
void FreeAllocation(void* /*data*/, size_t /*length*/, void* deleter_data) {
  auto* allocation = static_cast<Allocation*>(deleter_data);
  allocation->next_pending = pending_head;
  pending_head = allocation;
  if (freeing) return;
  freeing = true;
  while (pending_head != nullptr) {
    Allocation* current = pending_head;
    pending_head = current->next_pending;
    std::vector<std::shared_ptr<v8::BackingStore>> released;
    {
      std::lock_guard<std::mutex> guard(stash_mutex);
      released.reserve(current->tickets.size());
      for (uint64_t ticket : current->tickets) {
        auto found = stash_table.find(ticket);
        if (found == stash_table.end()) continue;
        if (found->second.store) released.push_back(std::move(found->second.store));
        stash_table.erase(found);
      }
      current->tickets.clear();
      allocations.erase(current->base);
    }
    munmap(current->base, current->mapped);
    delete current;
    released.clear();  // may queue more allocations (handled by this loop)
  }
  freeing = false;
}

void Throw(Isolate* isolate, const char* message) {
  isolate->ThrowException(v8::Exception::TypeError(
      v8::String::NewFromUtf8(isolate, message).ToLocalChecked()));
}

// stash(sab: SharedArrayBuffer, owner?: SharedArrayBuffer): number — keeps the
// memory alive until taken. With `owner` (a buffer from allocate()), the ticket
// is also dropped when the owner's memory is freed.
void Stash(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer()) {
    return Throw(isolate, "stash expects a SharedArrayBuffer");
  }
  bool owned = args.Length() >= 2 && !args[1]->IsUndefined();
  if (owned && !args[1]->IsSharedArrayBuffer()) {
    return Throw(isolate, "stash expects its owner to be a SharedArrayBuffer from allocate()");
  }
  // Declared before the lock, so they are released after it (see stash_mutex).
  auto store = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  std::shared_ptr<v8::BackingStore> owner_store;
  if (owned) owner_store = args[1].As<SharedArrayBuffer>()->GetBackingStore();
  uint64_t ticket = 0;
  {
    // No V8 call under the lock: one can run a GC that frees an allocation, whose deleter takes the lock.
    std::lock_guard<std::mutex> guard(stash_mutex);
    Allocation* owner = nullptr;
    if (owned) {
      auto found = allocations.find(owner_store->Data());
      if (found != allocations.end()) owner = found->second;
    }
    if (!owned || owner != nullptr) {
      StashEntry entry{nullptr, {}, owner};
      if (owned && store.get() == owner_store.get()) {
        entry.weak = store;
      } else {
        entry.store = store;
      }
      ticket = next_ticket++;
      stash_table.emplace(ticket, std::move(entry));
      if (owner != nullptr) owner->tickets.insert(ticket);
    }
  }
  if (ticket == 0) return Throw(isolate, "stash expects its owner to be a SharedArrayBuffer from allocate()");
  args.GetReturnValue().Set(static_cast<double>(ticket));
}

// take(ticket: number): SharedArrayBuffer — removes the ticket; throws if unknown.
void Take(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "take expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    bool found;
    store = EraseTicketLocked(ticket, &found);
  }
  if (!store) return Throw(isolate, "unknown or already taken shared-memory ticket");
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// peek(ticket): SharedArrayBuffer — like take, but leaves the ticket in place.
void Peek(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "peek expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    auto found = stash_table.find(ticket);
    if (found != stash_table.end()) store = found->second.store ? found->second.store : found->second.weak.lock();
  }
  if (!store) return Throw(isolate, "unknown shared-memory ticket");
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// A few taken buffers kept for reuse (queue spill segments): fresh memory costs a
// page fault per 4 KiB on first touch (about 30 µs to fill a 64 KiB frame into a
// new 1 MiB segment, against 0.6 µs for warm memory). Not counted by stashed().
constexpr size_t kPoolStores = 8;
std::vector<std::shared_ptr<v8::BackingStore>>& pool_stores = *new std::vector<std::shared_ptr<v8::BackingStore>>();

// recycle(ticket): undefined — like take, but keeps the memory for reuse(). The
// caller must hold no view it will use again.
void Recycle(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    return Throw(isolate, "recycle expects a ticket number");
  }
  uint64_t ticket = static_cast<uint64_t>(args[0].As<v8::Number>()->Value());
  std::shared_ptr<v8::BackingStore> store;  // released after the lock (see stash_mutex)
  bool found;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    store = EraseTicketLocked(ticket, &found);
    if (store && pool_stores.size() < kPoolStores) pool_stores.push_back(std::move(store));
  }
  if (!found) Throw(isolate, "unknown or already taken shared-memory ticket");
}

// reuse(bytes): SharedArrayBuffer | undefined — a recycled buffer of exactly
// `bytes` bytes (its old contents are left as they were), or undefined.
void Reuse(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) return Throw(isolate, "reuse expects a byte length");
  double bytes = args[0].As<v8::Number>()->Value();
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    for (size_t i = pool_stores.size(); i-- > 0;) {
      if (static_cast<double>(pool_stores[i]->ByteLength()) == bytes) {
        store = std::move(pool_stores[i]);
        pool_stores.erase(pool_stores.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  if (store) args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// stashed(): number — how many tickets are waiting (for leak checks in tests).
void Stashed(const FunctionCallbackInfo<Value>& args) {
  std::lock_guard<std::mutex> guard(stash_mutex);
  args.GetReturnValue().Set(static_cast<double>(stash_table.size()));
}

// `bytes` rounded up to whole pages, as mmap maps them.
size_t PageRounded(size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

// allocate(byteLength): SharedArrayBuffer — zero-filled memory from mmap, returned
// to the OS (munmap) when no thread uses it any more; it can own stash tickets.
void Allocate(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  double requested = args.Length() >= 1 && args[0]->IsNumber() ? args[0].As<v8::Number>()->Value() : -1;
  if (!(requested >= 0 && requested <= 9007199254740991.0) ||
      requested != static_cast<double>(static_cast<uint64_t>(requested))) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, "allocate: expected `byteLength` to be an integer >= 0").ToLocalChecked()));
    return;
  }
  size_t length = static_cast<size_t>(requested);
  // mmap cannot map 0 bytes, and a distinct base address keys the allocation.
  size_t mapped = PageRounded(length == 0 ? 1 : length);
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, "allocate: out of memory (mmap failed)").ToLocalChecked()));
    return;
  }
  auto* allocation = new Allocation{base, mapped, {}};
  {
    std::lock_guard<std::mutex> guard(stash_mutex);
    allocations.emplace(base, allocation);
  }
  std::shared_ptr<v8::BackingStore> store =
      SharedArrayBuffer::NewBackingStore(base, length, FreeAllocation, allocation);
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, std::move(store)));
}

// allocations(): number — live allocate() buffers, not counting those kept for
// reuse() (for leak checks in tests).
void Allocations(const FunctionCallbackInfo<Value>& args) {
  std::lock_guard<std::mutex> guard(stash_mutex);
  size_t pooled = 0;
  for (const auto& store : pool_stores) pooled += allocations.count(store->Data());
  args.GetReturnValue().Set(static_cast<double>(allocations.size() - pooled));
}

std::mutex names_mutex;
std::unordered_map<std::string, std::shared_ptr<v8::BackingStore>>& names_table =
    *new std::unordered_map<std::string, std::shared_ptr<v8::BackingStore>>();  // never destroyed, as stash_table

std::string ArgString(Isolate* isolate, Local<Value> value) {
  v8::String::Utf8Value text(isolate, value);
  return *text ? std::string(*text, text.length()) : std::string();
}

// publish(name, sab): boolean — false if the name is taken.
void Publish(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 2 || !args[0]->IsString() || !args[1]->IsSharedArrayBuffer()) {
    return Throw(isolate, "publish expects (name: string, buffer: SharedArrayBuffer)");
  }
  std::string name = ArgString(isolate, args[0]);
  auto store = args[1].As<SharedArrayBuffer>()->GetBackingStore();
  std::lock_guard<std::mutex> guard(names_mutex);
  bool inserted = names_table.emplace(name, std::move(store)).second;
  args.GetReturnValue().Set(inserted);
}

// lookup(name): SharedArrayBuffer | undefined
void Lookup(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "lookup expects a name");
  std::string name = ArgString(isolate, args[0]);
  std::shared_ptr<v8::BackingStore> store;
  {
    std::lock_guard<std::mutex> guard(names_mutex);
    auto found = names_table.find(name);
    if (found == names_table.end()) return;
    store = found->second;
  }
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, store));
}

// unpublish(name): boolean — false if there was no such name.
void Unpublish(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "unpublish expects a name");
  std::string name = ArgString(isolate, args[0]);
  std::shared_ptr<v8::BackingStore> store;  // released after the lock: its deleter may run
  bool erased;
  {
    std::lock_guard<std::mutex> guard(names_mutex);
    auto found = names_table.find(name);
    erased = found != names_table.end();
    if (erased) {
      store = std::move(found->second);
      names_table.erase(found);
    }
  }
  args.GetReturnValue().Set(erased);
}

// The bytes of an ArrayBuffer, SharedArrayBuffer or ArrayBufferView: false if `value` is none of them.
bool BytesOf(Local<Value> value, uint8_t** data, size_t* length) {
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    // Buffer() moves a small on-heap typed array's bytes off the heap once; later calls are cheap.
    *data = static_cast<uint8_t*>(view->Buffer()->Data()) + view->ByteOffset();
    *length = view->ByteLength();
    return true;
  }
  if (value->IsSharedArrayBuffer()) {
    auto buffer = value.As<SharedArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer->Data());
    *length = buffer->ByteLength();
    return true;
  }
  if (value->IsArrayBuffer()) {
    auto buffer = value.As<v8::ArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer->Data());
    *length = buffer->ByteLength();
    return true;
  }
  return false;
}

// An integer argument in [0, 2^53); false (and a thrown RangeError) otherwise.
bool IndexArg(Isolate* isolate, Local<Value> value, const char* name, size_t* out) {
  double number = value->IsNumber() ? value.As<v8::Number>()->Value() : -1;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != static_cast<double>(static_cast<uint64_t>(number))) {
    std::string message = std::string("copy: expected `") + name + "` to be an integer >= 0";
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
    return false;
  }
  *out = static_cast<size_t>(number);
  return true;
}

// copy(target, targetOffset, source, sourceOffset, length): number — copies
// source[sourceOffset, +length) to target[targetOffset, +length) (offsets count
// from each view's start; overlapping ranges are fine) and returns `length`.
// target and source: ArrayBuffer, SharedArrayBuffer, or any ArrayBufferView.
// Throws a RangeError, copying nothing, if either range is out of bounds.
void Copy(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t* target;
  uint8_t* source;
  size_t target_length, source_length, target_offset, source_offset, length;
  if (args.Length() < 5 || !BytesOf(args[0], &target, &target_length) || !BytesOf(args[2], &source, &source_length)) {
    return Throw(isolate,
                 "copy expects (target, targetOffset, source, sourceOffset, length); target and source are "
                 "ArrayBuffers, SharedArrayBuffers or views over them");
  }
  if (!IndexArg(isolate, args[1], "targetOffset", &target_offset) ||
      !IndexArg(isolate, args[3], "sourceOffset", &source_offset) ||
      !IndexArg(isolate, args[4], "length", &length)) {
    return;
  }
  if (target_offset > target_length || length > target_length - target_offset ||
      source_offset > source_length || length > source_length - source_offset) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, "copy: the range is outside the target or the source").ToLocalChecked()));
    return;
  }
  if (length > 0) std::memmove(target + target_offset, source + source_offset, length);
  args.GetReturnValue().Set(static_cast<double>(length));
}


// ---------------------------------------------------------------------------
// 4d. privateCopy(source): ArrayBuffer — a copy of a view's bytes, to transfer to a
// worker thread (src/wire/copy-to-transfer.ts), in memory that is reused.
//
// A 1 MiB task argument copied into fresh memory costs the caller a page fault and the
// kernel's zeroing per 4 KiB: 150-210 µs a copy here, against 50-90 µs into memory
// mapped before. glibc gives such blocks back to the OS whenever its heap's top is
// freed, so a stream of big tasks faulted 0-130 times a task, run by run. The copies
// here come from mmap'd blocks that go back to a free list when the worker drops the
// array (V8 runs the deleter on whichever thread frees it), for the next copy of the
// same size class. A sweeper thread, running only while blocks are free, unmaps each
// one left unused for kBlockIdleNanos: memory is kept through a burst, not after it.
// Copies are written with non-temporal stores: the caller does not read them again,
// and it is spared reading each line in first (W4 on threads, medians of alternating
// runs: 3.5-3.8 against 3.1-3.4 GB/s with memcpy into the same blocks).

constexpr size_t kBlockMinBytes = size_t{64} << 10;
constexpr size_t kBlockMaxBytes = size_t{64} << 20;  // larger copies are mapped and unmapped each time
constexpr int64_t kBlockIdleNanos = 2'000'000'000;

struct FreeBlock {
  void* base;
  int64_t freed_at;
};

std::mutex blocks_mutex;
// Free blocks by size class, oldest first in each.
std::unordered_map<size_t, std::deque<FreeBlock>>& free_blocks = *new std::unordered_map<size_t, std::deque<FreeBlock>>();
size_t free_block_count = 0;
size_t blocks_in_use = 0;
bool sweeper_running = false;

int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

// The mapped size for `length` bytes: a quarter-octave class (2^k, 1.25, 1.5, 1.75 x 2^k),
// so sizes that differ a little share blocks, and a block wastes at most a fifth.
size_t BlockClass(size_t length) {
  if (length <= kBlockMinBytes) return kBlockMinBytes;
  size_t octave = kBlockMinBytes;
  while (octave * 2 < length) octave *= 2;
  for (size_t step = 1; step < 4; step++) {
    size_t size = octave + octave / 4 * step;
    if (size >= length) return size;
  }
  return octave * 2;
}

// Takes out the free blocks freed before `cutoff`, to unmap after the lock.
void CollectFreeBlocksLocked(int64_t cutoff, std::vector<std::pair<void*, size_t>>* doomed) {
  for (auto& [size, list] : free_blocks) {
    while (!list.empty() && list.front().freed_at < cutoff) {
      doomed->emplace_back(list.front().base, size);
      list.pop_front();
      free_block_count--;
    }
  }
}

void UnmapAll(const std::vector<std::pair<void*, size_t>>& doomed) {
  for (const auto& [base, size] : doomed) munmap(base, size);
}

// Unmaps idle blocks once a second while any block is free; ends when none is.
void SweepFreeBlocks() {
  std::unique_lock<std::mutex> lock(blocks_mutex);
  while (free_block_count > 0) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    lock.lock();
    std::vector<std::pair<void*, size_t>> doomed;
    CollectFreeBlocksLocked(MonotonicNs() - kBlockIdleNanos, &doomed);
    lock.unlock();
    UnmapAll(doomed);
    lock.lock();
  }
  sweeper_running = false;
}

// The BackingStore deleter of a privateCopy buffer; deleter_data is its mapped size.
void ReturnBlock(void* data, size_t /* length */, void* deleter_data) {
  size_t size = reinterpret_cast<size_t>(deleter_data);
  std::lock_guard<std::mutex> guard(blocks_mutex);
  blocks_in_use--;
  if (size > kBlockMaxBytes) {
    munmap(data, size);
    return;
  }
  free_blocks[size].push_back(FreeBlock{data, MonotonicNs()});
  free_block_count++;
  if (!sweeper_running) {
    sweeper_running = true;
    std::thread(SweepFreeBlocks).detach();
  }
}

void* TakeBlock(size_t size) {
  {
    std::lock_guard<std::mutex> guard(blocks_mutex);
    blocks_in_use++;
    auto found = free_blocks.find(size);
    // The newest free block: the likeliest to be still in the TLB and the caches.
    if (found != free_blocks.end() && !found->second.empty()) {
      void* reused = found->second.back().base;
      found->second.pop_back();
      free_block_count--;
      return reused;
    }
  }
  // MAP_POPULATE: the copy writes the whole block next, and one call maps it faster than a fault per page.
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (base != MAP_FAILED) return base;
  std::lock_guard<std::mutex> guard(blocks_mutex);
  blocks_in_use--;
  return nullptr;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void StreamCopyAvx2(uint8_t* target, const uint8_t* source, size_t length) {
  size_t i = 0;
  for (; i + 128 <= length; i += 128) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source + i + 32));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source + i + 64));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source + i + 96));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(target + i), a);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(target + i + 32), b);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(target + i + 64), c);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(target + i + 96), d);
  }
  _mm_sfence();  // streamed stores are weakly ordered: visible before the buffer is handed on
  if (i < length) std::memcpy(target + i, source + i, length - i);
}
#endif

// `target` is a block's start, so page-aligned.
void CopyToBlock(uint8_t* target, const uint8_t* source, size_t length) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return StreamCopyAvx2(target, source, length);
#endif
  std::memcpy(target, source, length);
}

void PrivateCopy(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint8_t* source;
  size_t length;
  if (args.Length() < 1 || !BytesOf(args[0], &source, &length)) {
    return Throw(isolate, "privateCopy expects an ArrayBuffer, a SharedArrayBuffer or a view over one");
  }
  if (length == 0) return args.GetReturnValue().Set(v8::ArrayBuffer::New(isolate, 0));
  size_t size = length <= kBlockMaxBytes ? BlockClass(length) : PageRounded(length);
  void* block = TakeBlock(size);
  if (block == nullptr) {
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, "privateCopy: out of memory (mmap failed)").ToLocalChecked()));
    return;
  }
  CopyToBlock(static_cast<uint8_t*>(block), source, length);
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(block, length, ReturnBlock, reinterpret_cast<void*>(size));
  args.GetReturnValue().Set(v8::ArrayBuffer::New(isolate, std::move(store)));
}

// warm(view): reads every cache line of a view with wide loads, so that this core's caches
// hold it (copy-to-transfer.ts's warmCopies: a worker thread reads in a task's big
// arguments, which the caller's core wrote, before the task's own loop walks them).
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t ReadAllAvx2(const uint8_t* data, size_t length) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 128 <= length; i += 128) {
    acc = _mm256_or_si256(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i)));
    acc = _mm256_or_si256(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i + 32)));
    acc = _mm256_or_si256(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i + 64)));
    acc = _mm256_or_si256(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i + 96)));
  }
  return static_cast<uint64_t>(_mm256_extract_epi64(acc, 0) | _mm256_extract_epi64(acc, 1)) + i;
}
#endif

void Warm(const FunctionCallbackInfo<Value>& args) {
  uint8_t* data;
  size_t length;
  if (args.Length() < 1 || !BytesOf(args[0], &data, &length)) return Throw(args.GetIsolate(), "warm expects an ArrayBuffer, a SharedArrayBuffer or a view over one");
  volatile uint64_t sink = 0;
#if defined(__x86_64__)
  sink = ReadAllAvx2(data, length);
#else
  for (size_t i = 0; i < length; i += 64) sink = sink + data[i];
#endif
  (void)sink;
}

// privateBlocks(): [inUse, free] — privateCopy blocks held by buffers, and kept for reuse (for tests).
void PrivateBlocks(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  size_t in_use, free_count;
  {
    std::lock_guard<std::mutex> guard(blocks_mutex);
    in_use = blocks_in_use;
    free_count = free_block_count;
  }
  Local<v8::Array> counts = v8::Array::New(isolate, 2);
  Local<Context> context = isolate->GetCurrentContext();
  counts->Set(context, 0, v8::Number::New(isolate, static_cast<double>(in_use))).Check();
  counts->Set(context, 1, v8::Number::New(isolate, static_cast<double>(free_count))).Check();
  args.GetReturnValue().Set(counts);
}

// ---------------------------------------------------------------------------
// 4a. OS shared memory: a POSIX shared-memory object mapped as a SharedArrayBuffer.
//
// V8 takes the mapping as an external backing store; its deleter munmaps when the
// last SharedArrayBuffer over it (in any thread, including stashed ones) is gone.
// The name is independent of the mapping: shmUnlink removes the name, the memory
// lives until every process unmaps it.

void UnmapStore(void* data, size_t length, void* /* deleter_data */) {
  if (data != nullptr && length > 0) munmap(data, length);
}

void ThrowErrno(Isolate* isolate, int error, const char* syscall, const std::string& path) {
  isolate->ThrowException(node::ErrnoException(isolate, error, syscall, nullptr, path.c_str()));
}

// Maps `size` bytes of `fd` and wraps them in a SharedArrayBuffer; closes fd.
void MapAsSharedArrayBuffer(const FunctionCallbackInfo<Value>& args, int fd, size_t size, const std::string& name) {
  Isolate* isolate = args.GetIsolate();
  void* data = nullptr;
  if (size > 0) {
    data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
      int error = errno;
      close(fd);
      return ThrowErrno(isolate, error, "mmap", name);
    }
  }
  close(fd);  // the mapping keeps the object alive
  std::shared_ptr<v8::BackingStore> store =
      SharedArrayBuffer::NewBackingStore(data, size, UnmapStore, nullptr);
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, std::move(store)));
}

// shmCreate(name, size): SharedArrayBuffer — a new, zero-filled object; throws EEXIST if the name is taken.
void ShmCreate(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 2 || !args[0]->IsString() || !args[1]->IsNumber()) {
    return Throw(isolate, "shmCreate expects (name: string, size: number)");
  }
  std::string name = ArgString(isolate, args[0]);
  size_t size;
  if (!IndexArg(isolate, args[1], "size", &size)) return;
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ThrowErrno(isolate, errno, "shm_open", name);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int error = errno;
    close(fd);
    shm_unlink(name.c_str());
    return ThrowErrno(isolate, error, "ftruncate", name);
  }
  MapAsSharedArrayBuffer(args, fd, size, name);
}

// shmOpen(name): SharedArrayBuffer — an existing object, its size from fstat; throws ENOENT if unknown.
void ShmOpen(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "shmOpen expects (name: string)");
  std::string name = ArgString(isolate, args[0]);
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(isolate, errno, "shm_open", name);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int error = errno;
    close(fd);
    return ThrowErrno(isolate, error, "fstat", name);
  }
  MapAsSharedArrayBuffer(args, fd, static_cast<size_t>(info.st_size), name);
}

// shmUnlink(name): boolean — false if there was no such name.
void ShmUnlink(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(isolate, "shmUnlink expects (name: string)");
  std::string name = ArgString(isolate, args[0]);
  if (shm_unlink(name.c_str()) == 0) return args.GetReturnValue().Set(true);
  if (errno == ENOENT) return args.GetReturnValue().Set(false);
  ThrowErrno(isolate, errno, "shm_unlink", name);
}

// ---------------------------------------------------------------------------
// 4b. Futex wait/wake. FUTEX_WAIT (not _PRIVATE): the kernel keys a shared
// mapping's futex by (inode, offset), so a wake in one process reaches a waiter in
// another. On a process-private SharedArrayBuffer it still works between threads.

enum class WaitOutcome { kOk, kNotEqual, kTimedOut, kCancelled, kError };

const char* OutcomeName(WaitOutcome outcome) {
  switch (outcome) {
    case WaitOutcome::kOk: return "ok";
    case WaitOutcome::kNotEqual: return "not-equal";
    case WaitOutcome::kTimedOut: return "timed-out";
    default: return "error";
  }
}

// Deadline in CLOCK_MONOTONIC ns for a timeout in ms, or -1 for none (undefined,
// Infinity and NaN wait forever, as Atomics.wait; negative timeouts count as 0).
int64_t DeadlineOf(Local<Value> timeout) {
  if (!timeout->IsNumber()) return -1;
  double ms = timeout.As<v8::Number>()->Value();
  if (std::isnan(ms) || ms == INFINITY || ms > 9.2e12) return -1;
  if (ms < 0) ms = 0;
  return MonotonicNs() + static_cast<int64_t>(ms * 1e6);
}

// Sleeps while *address == expected, until woken or `deadline` (-1: none).
// EINTR (a signal) recomputes the time left and sleeps again, unless `cancel` is set.
WaitOutcome FutexWait(int32_t* address, int32_t expected, int64_t deadline, const std::atomic<bool>* cancel,
                      int* error_out) {
  for (;;) {
    if (cancel != nullptr && cancel->load(std::memory_order_acquire)) return WaitOutcome::kCancelled;
    timespec relative;
    timespec* timeout = nullptr;
    if (deadline >= 0) {
      int64_t left = deadline - MonotonicNs();
      if (left <= 0) return WaitOutcome::kTimedOut;
      relative.tv_sec = static_cast<time_t>(left / 1000000000LL);
      relative.tv_nsec = static_cast<long>(left % 1000000000LL);
      timeout = &relative;
    }
    long rc = syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout, nullptr, 0);
    if (rc == 0) return WaitOutcome::kOk;
    switch (errno) {
      case EAGAIN: return WaitOutcome::kNotEqual;
      case ETIMEDOUT: return WaitOutcome::kTimedOut;
      case EINTR: continue;
      default:
        *error_out = errno;
        return WaitOutcome::kError;
    }
  }
}

// The address of view[index] for an Int32Array argument, or nullptr (and a thrown error).
int32_t* WordArg(const FunctionCallbackInfo<Value>& args, const char* who, std::shared_ptr<v8::BackingStore>* keep) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 2 || !args[0]->IsInt32Array()) {
    std::string message = std::string(who) + " expects an Int32Array as its first argument";
    Throw(isolate, message.c_str());
    return nullptr;
  }
  auto view = args[0].As<v8::Int32Array>();
  double index = args[1]->IsNumber() ? args[1].As<v8::Number>()->Value() : -1;
  if (!(index >= 0 && index < static_cast<double>(view->Length())) || index != std::floor(index)) {
    std::string message = std::string(who) + ": expected `index` to be an integer in [0, " +
                          std::to_string(view->Length()) + ")";
    isolate->ThrowException(v8::Exception::RangeError(
        v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
    return nullptr;
  }
  auto buffer = view->Buffer();
  if (keep != nullptr) *keep = buffer->GetBackingStore();
  return reinterpret_cast<int32_t*>(static_cast<uint8_t*>(buffer->Data()) + view->ByteOffset()) +
         static_cast<size_t>(index);
}

bool ExpectedArg(const FunctionCallbackInfo<Value>& args, const char* who, int32_t* out) {
  if (args.Length() < 3 || !args[2]->IsNumber()) {
    std::string message = std::string(who) + ": expected `expected` to be a number";
    Throw(args.GetIsolate(), message.c_str());
    return false;
  }
  // ToInt32, as Atomics.wait does.
  *out = args[2]->Int32Value(args.GetIsolate()->GetCurrentContext()).FromMaybe(0);
  return true;
}

// futexWait(view, index, expected, timeoutMs?): "ok" | "not-equal" | "timed-out" — blocks this thread.
void FutexWaitSync(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int32_t* address = WordArg(args, "futexWait", nullptr);
  int32_t expected;
  if (address == nullptr || !ExpectedArg(args, "futexWait", &expected)) return;
  int64_t deadline = DeadlineOf(args.Length() > 3 ? args[3] : v8::Undefined(isolate).As<Value>());
  int error = 0;
  WaitOutcome outcome = FutexWait(address, expected, deadline, nullptr, &error);
  if (outcome == WaitOutcome::kError) return ThrowErrno(isolate, error, "futex", "FUTEX_WAIT");
  args.GetReturnValue().Set(v8::String::NewFromUtf8(isolate, OutcomeName(outcome)).ToLocalChecked());
}

// futexWake(view, index, count?): number — wakes up to `count` waiters (all when omitted) in any process.
void FutexWake(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int32_t* address = WordArg(args, "futexWake", nullptr);
  if (address == nullptr) return;
  int count = INT_MAX;
  if (args.Length() > 2 && args[2]->IsNumber()) {
    double wanted = args[2].As<v8::Number>()->Value();
    count = std::isnan(wanted) || wanted >= INT_MAX ? INT_MAX : wanted <= 0 ? 0 : static_cast<int>(wanted);
  }
  if (count == 0) return args.GetReturnValue().Set(0);
  long woken = syscall(SYS_futex, address, FUTEX_WAKE, count, nullptr, nullptr, 0);
  if (woken < 0) return ThrowErrno(isolate, errno, "futex", "FUTEX_WAKE");
  args.GetReturnValue().Set(static_cast<double>(woken));
}

// ---------------------------------------------------------------------------
// 4c. futexWaitAsync: a Promise resolved when the futex wait ends, without
// blocking the JS thread.
//
// Per environment (main thread, each worker thread) a WaiterPool owns native
// threads that each sleep in FUTEX_WAIT for one pending wait at a time, a
// uv_async_t that carries finished waits back to the JS thread, and the
// promises. Threads are reused (an idle one takes the next wait) and the pool
// grows to the number of waits pending at once. The uv_async_t is ref'd while
// any wait is pending, so the event loop stays alive for it, and unref'd when
// none is.
//
// Teardown (environment cleanup hook): set `closing`, then interrupt every pool
// thread with a private signal (no SA_RESTART, so FUTEX_WAIT returns EINTR; the
// wait loop sees `closing` and gives up) until it exits, join them, close the
// handle. Pending promises are dropped with their context. A signal rather than a
// futex wake on the waited address, because such a wake would also wake
// unrelated waiters of that word in other processes.

struct AsyncWait {
  int32_t* address;
  int32_t expected;
  int64_t deadline;
  std::shared_ptr<v8::BackingStore> store;  // keeps the memory mapped while a thread sleeps on it
  v8::Global<v8::Promise::Resolver> resolver;
  WaitOutcome outcome = WaitOutcome::kOk;
  int error = 0;
};

struct WaiterPool {
  Isolate* isolate;
  v8::Global<Context> context;
  uv_async_t done_signal;
  // JS thread only:
  std::unordered_set<AsyncWait*> live;
  bool refed = false;
  // Shared with the pool threads, under mutex:
  std::mutex mutex;
  std::condition_variable work_ready;
  std::deque<AsyncWait*> queue;
  std::vector<AsyncWait*> done;
  size_t idle = 0;
  struct Thread {
    std::thread thread;
    std::atomic<bool> exited{false};  // set by the thread just before it returns
  };
  std::vector<std::unique_ptr<Thread>> threads;  // JS thread only
  std::atomic<bool> closing{false};
  node::AsyncCleanupHookHandle cleanup_hook;
  void (*cleanup_done)(void*) = nullptr;
  void* cleanup_done_arg = nullptr;
};

int CancelSignal() { return SIGRTMIN + 6; }

void IgnoreCancelSignal(int) {}

void InstallCancelSignal() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = IgnoreCancelSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocked FUTEX_WAIT returns EINTR
    sigaction(CancelSignal(), &action, nullptr);
  });
}

void PoolLoop(WaiterPool* pool);

void PoolThread(WaiterPool* pool, std::atomic<bool>* exited) {
  PoolLoop(pool);
  exited->store(true);
}

void PoolLoop(WaiterPool* pool) {
  sigset_t only_cancel;
  sigemptyset(&only_cancel);
  sigaddset(&only_cancel, CancelSignal());
  pthread_sigmask(SIG_UNBLOCK, &only_cancel, nullptr);
  for (;;) {
    AsyncWait* wait;
    {
      std::unique_lock<std::mutex> lock(pool->mutex);
      pool->idle++;
      pool->work_ready.wait(lock, [pool] { return pool->closing.load() || !pool->queue.empty(); });
      pool->idle--;
      if (pool->closing.load()) return;
      wait = pool->queue.front();
      pool->queue.pop_front();
    }
    wait->outcome = FutexWait(wait->address, wait->expected, wait->deadline, &pool->closing, &wait->error);
    if (wait->outcome == WaitOutcome::kCancelled) return;  // the cleanup hook frees it
    {
      std::lock_guard<std::mutex> lock(pool->mutex);
      pool->done.push_back(wait);
    }
    uv_async_send(&pool->done_signal);
  }
}

void Settle(WaiterPool* pool, AsyncWait* wait, Local<Context> context) {
  Isolate* isolate = pool->isolate;
  Local<v8::Promise::Resolver> resolver = wait->resolver.Get(isolate);
  if (wait->outcome == WaitOutcome::kError) {
    resolver->Reject(context, node::ErrnoException(isolate, wait->error, "futex", nullptr, "FUTEX_WAIT")).Check();
  } else {
    resolver->Resolve(context, v8::String::NewFromUtf8(isolate, OutcomeName(wait->outcome)).ToLocalChecked()).Check();
  }
}

void UpdateRef(WaiterPool* pool) {
  bool want = !pool->live.empty();
  if (want == pool->refed) return;
  pool->refed = want;
  uv_handle_t* handle = reinterpret_cast<uv_handle_t*>(&pool->done_signal);
  if (want) uv_ref(handle);
  else uv_unref(handle);
}

void OnWaitsDone(uv_async_t* handle) {
  WaiterPool* pool = static_cast<WaiterPool*>(handle->data);
  std::vector<AsyncWait*> finished;
  {
    std::lock_guard<std::mutex> lock(pool->mutex);
    finished.swap(pool->done);
  }
  if (finished.empty() || pool->closing.load()) return;
  Isolate* isolate = pool->isolate;
  v8::HandleScope handles(isolate);
  Local<Context> context = pool->context.Get(isolate);
  Context::Scope context_scope(context);
  {
    // Runs microtasks and nextTicks on exit, as for any callback from libuv.
    node::CallbackScope callback_scope(isolate, Object::New(isolate), {0, 0});
    for (AsyncWait* wait : finished) {
      Settle(pool, wait, context);
      pool->live.erase(wait);
      delete wait;
    }
  }
  UpdateRef(pool);
}

// An async cleanup hook: Node keeps running this thread's loop until `done` is
// called, so the handle's close callback runs while this addon is still loaded (a
// worker unloads its addons right after the cleanup; a sync hook would leave the
// close callback pointing into unmapped code).
// This thread's WaiterPool. Node runs each environment (the main thread, each worker)
// on its own thread, so a thread_local finds it without a v8::External, whose untagged
// form V8 deprecates in Node 26.
thread_local WaiterPool* this_thread_pool = nullptr;

void StopWaiterPool(void* data, void (*done)(void*), void* done_arg) {
  WaiterPool* pool = static_cast<WaiterPool*>(data);
  if (this_thread_pool == pool) this_thread_pool = nullptr;
  pool->cleanup_done = done;
  pool->cleanup_done_arg = done_arg;
  {
    std::lock_guard<std::mutex> lock(pool->mutex);
    pool->closing.store(true);
  }
  pool->work_ready.notify_all();
  for (auto& slot : pool->threads) {
    // A signal that lands just before the thread enters FUTEX_WAIT is lost; repeat
    // until it leaves (a thread not yet joined may be signalled even if it ended).
    while (!slot->exited.load()) {
      pthread_kill(slot->thread.native_handle(), CancelSignal());
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    slot->thread.join();
  }
  pool->threads.clear();
  for (AsyncWait* wait : pool->live) delete wait;  // settled or not, their promises die with the context
  pool->live.clear();
  pool->context.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&pool->done_signal), [](uv_handle_t* handle) {
    WaiterPool* pool = static_cast<WaiterPool*>(handle->data);
    pool->cleanup_done(pool->cleanup_done_arg);
    delete pool;
  });
}

WaiterPool* NewWaiterPool(Isolate* isolate, Local<Context> context) {
  auto* pool = new WaiterPool();
  pool->isolate = isolate;
  pool->context.Reset(isolate, context);
  uv_async_init(node::GetCurrentEventLoop(isolate), &pool->done_signal, OnWaitsDone);
  pool->done_signal.data = pool;
  uv_unref(reinterpret_cast<uv_handle_t*>(&pool->done_signal));
  pool->cleanup_hook = node::AddEnvironmentCleanupHook(isolate, StopWaiterPool, pool);
  return pool;
}

// futexWaitAsync(view, index, expected, timeoutMs?): Promise<"ok" | "not-equal" | "timed-out">
void FutexWaitAsync(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  WaiterPool* pool = this_thread_pool;
  if (pool == nullptr) return Throw(isolate, "futexWaitAsync: this thread's environment is shutting down");
  Local<Context> context = isolate->GetCurrentContext();
  std::shared_ptr<v8::BackingStore> store;
  int32_t* address = WordArg(args, "futexWaitAsync", &store);
  int32_t expected;
  if (address == nullptr || !ExpectedArg(args, "futexWaitAsync", &expected)) return;
  int64_t deadline = DeadlineOf(args.Length() > 3 ? args[3] : v8::Undefined(isolate).As<Value>());
  Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
  args.GetReturnValue().Set(resolver->GetPromise());
  // Settle at once what needs no sleep, as Atomics.waitAsync does.
  const char* now = nullptr;
  if (__atomic_load_n(address, __ATOMIC_SEQ_CST) != expected) now = "not-equal";
  else if (deadline >= 0 && deadline <= MonotonicNs()) now = "timed-out";
  if (now != nullptr) {
    resolver->Resolve(context, v8::String::NewFromUtf8(isolate, now).ToLocalChecked()).Check();
    return;
  }
  auto* wait = new AsyncWait{address, expected, deadline, std::move(store), {}, WaitOutcome::kOk, 0};
  wait->resolver.Reset(isolate, resolver);
  pool->live.insert(wait);
  UpdateRef(pool);
  bool spawn;
  {
    std::lock_guard<std::mutex> lock(pool->mutex);
    pool->queue.push_back(wait);
    spawn = pool->queue.size() > pool->idle;
  }
  if (spawn) {
    InstallCancelSignal();
    auto slot = std::make_unique<WaiterPool::Thread>();
    slot->thread = std::thread(PoolThread, pool, &slot->exited);
    pool->threads.push_back(std::move(slot));
  } else {
    pool->work_ready.notify_one();
  }
}

// futexPending(): number — async waits of this thread not yet settled (for tests).
void FutexPending(const FunctionCallbackInfo<Value>& args) {
  WaiterPool* pool = this_thread_pool;
  args.GetReturnValue().Set(static_cast<double>(pool == nullptr ? 0 : pool->live.size()));
}

// ------------------------------------------------------------ exit now
//
// exitNow(code): _exit(code). A child process that has nothing left to write and no
// 'exit' listeners ends without Node's teardown of its environment, which was about a
// third of the time from a pool's "stop" to the parent seeing the child gone
// (process.exit: 2.6-2.9 ms there, a process that ends at once: 1.7-1.8 ms). The caller
// decides when that is safe (see process-entry.ts).

void ExitNow(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int code = args[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(1);
  _exit(code);
}

// ------------------------------------------------------------ parent death
//
// setParentDeathSignal(signal): prctl(PR_SET_PDEATHSIG). The kernel sends
// `signal` to this process when its parent dies, even while its JavaScript is
// busy in a loop and never sees the IPC channel close. Returns getppid() read
// after the call: if the parent died before it, this process was already
// reparented, and the caller compares with the parent it expects.

void SetParentDeathSignal(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int signal = args[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  if (prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(signal)) != 0) {
    return ThrowErrno(isolate, errno, "prctl", "PR_SET_PDEATHSIG");
  }
  args.GetReturnValue().Set(static_cast<double>(getppid()));
}

}  // namespace

// Keeps this library loaded until the process exits. Node unloads a worker thread's
// addons when the worker ends (dlclose); when that worker was the first thread to load
// this one, the library really goes, and with it the process-wide state above (the
// stash, the name table, allocations) while other threads still rely on it, and
// backing stores whose deleters point into the unmapped code. Seen as a Lock held by
// the first worker thread of a program, killed, that the parent could not recover: the
// parent's lookup loaded a fresh copy of this library with an empty name table.
// dlopen with RTLD_NODELETE on our own file takes a reference no dlclose gives back.
void PinLibrary() {
  static std::once_flag pinned;
  std::call_once(pinned, [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&PinLibrary), &info) != 0 && info.dli_fname != nullptr) {
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
    }
  });
}

NODE_MODULE_INIT(/* exports, module, context */) {
  PinLibrary();
  NODE_SET_METHOD(exports, "stash", Stash);
  NODE_SET_METHOD(exports, "take", Take);
  NODE_SET_METHOD(exports, "peek", Peek);
  NODE_SET_METHOD(exports, "stashed", Stashed);
  NODE_SET_METHOD(exports, "recycle", Recycle);
  NODE_SET_METHOD(exports, "reuse", Reuse);
  NODE_SET_METHOD(exports, "allocate", Allocate);
  NODE_SET_METHOD(exports, "allocations", Allocations);
  NODE_SET_METHOD(exports, "publish", Publish);
  NODE_SET_METHOD(exports, "lookup", Lookup);
  NODE_SET_METHOD(exports, "unpublish", Unpublish);
  NODE_SET_METHOD(exports, "copy", Copy);
  NODE_SET_METHOD(exports, "privateCopy", PrivateCopy);
  NODE_SET_METHOD(exports, "privateBlocks", PrivateBlocks);
  NODE_SET_METHOD(exports, "warm", Warm);
  NODE_SET_METHOD(exports, "shmCreate", ShmCreate);
  NODE_SET_METHOD(exports, "shmOpen", ShmOpen);
  NODE_SET_METHOD(exports, "shmUnlink", ShmUnlink);
  NODE_SET_METHOD(exports, "futexWait", FutexWaitSync);
  NODE_SET_METHOD(exports, "futexWake", FutexWake);
  NODE_SET_METHOD(exports, "setParentDeathSignal", SetParentDeathSignal);
  NODE_SET_METHOD(exports, "exitNow", ExitNow);
  NODE_SET_METHOD(exports, "futexWaitAsync", FutexWaitAsync);
  NODE_SET_METHOD(exports, "futexPending", FutexPending);
  // futexWaitAsync settles its promises on this thread's loop, through this thread's pool.
  if (this_thread_pool == nullptr) this_thread_pool = NewWaiterPool(v8::Isolate::GetCurrent(), context);
}
