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
// The addon is context-aware (NODE_MODULE_INIT) so each worker thread can load it.
#include <node.h>
#include <v8.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
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
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // mmap cannot map 0 bytes, and a distinct base address keys the allocation.
  size_t mapped = ((length == 0 ? 1 : length) + page - 1) / page * page;
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

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
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
}
