// The org.bootc.Storage Varlink interface definition, embedded so the bundled daemon needs no data file. A
// verbatim copy of varlink/org.bootc.Storage.varlink (the documented source of truth);
// test/integration/varlink-protocol.test.ts fails when the two differ. After editing the .varlink file, copy
// it here between the backquotes unchanged (it contains no backquote, backslash or dollar-brace).

export const STORAGE_VARLINK_IDL = `# org.bootc.Storage: bootc's private container image store, served over Varlink.
#
# The same API as the D-Bus interface org.bootc.Storage (dbus/org.bootc.Storage.xml), answered by the same
# core in the same daemon (bootc-storaged): the same methods, jobs, joining of identical requests, queue limit
# and errors. This file is the documented source of truth of the Varlink wire types; the daemon returns it
# from org.varlink.service.GetInterfaceDescription and checks every call's parameters against it.
#
# Socket
# ======
# unix:/run/bootc/org.bootc.Storage (bootc-storaged --varlink-socket PATH changes it). Under systemd the
# socket is created by bootc-storaged.socket and the daemon is started on the first connection (socket
# activation); started any other way, the daemon binds the path itself, mode 0600. Every method is in
# org.bootc.Storage; org.varlink.service (GetInfo, GetInterfaceDescription) is there too.
#
# Access control
# ==============
# Anyone may connect (mode 0666, as systemd's own Varlink services are). Each call is authorized by polkit
# exactly as over D-Bus: the same method→action table and details, with the peer process (its SO_PEERCRED
# pid and uid, and its start time) as the subject. Root is allowed without asking; an ordinary user may read
# (Exists, List, ListJobs) and is refused writes (PermissionDenied) before anything is queued. Varlink has no
# interactive flag: a check that would need a password is refused. Jobs record the caller's uid as Owner; a
# caller of a job may cancel it (withdrawing itself, as on D-Bus), anyone else needs cancel-foreign.
#
# Jobs
# ====
# Pull, PullFromHost, Remove, Prune and GarbageCollect (unless dryRun) run as jobs on the daemon's one queue,
# shared with D-Bus callers: an identical request already queued or running is joined, not repeated; a full
# queue refuses with Busy. A call replies when its job ends.
#   * Pull called with "more": true streams the job's progress (continues: true replies carrying job,
#     progress, bytesDone, bytesTotal, layersDone, layersTotal, at most every 100 ms), then the final reply,
#     which also carries fetched.
#   * Called with "oneway": true, Pull, PullFromHost, Remove, Prune and GarbageCollect only start (or join)
#     the job and return at once; nothing is answered. Follow such a job with ListJobs.
#   * A client that disconnects does NOT cancel its job: the job runs on (others may have joined it) and its
#     result lands in the store. To stop a job, call CancelJob with its id (from a Pull progress reply or from
#     ListJobs), from any connection; the call that started it then fails with Canceled.
#
# Protocol limits
# ===============
#   * A call may be at most 1 MiB. A longer one (no NUL within 1 MiB), a message that is not a JSON object,
#     or one left unfinished for 30 s gets org.varlink.service.InvalidParameter {parameter: "message"}, and
#     the connection is closed.
#   * At most 64 connections at once. One more receives an unsolicited org.bootc.Storage.Busy error and is
#     closed.
#   * Calls on one connection are answered one at a time, in order (pipelining works). Open a second connection
#     to call CancelJob while a Pull is waiting on the first.
#   * A wrongly typed, missing or unknown parameter gets org.varlink.service.InvalidParameter naming it.
#   * A "oneway" call is never answered, not even with an error (errors are only logged by the daemon).
#
# Image references
# ================
# Every image argument is a fully-qualified registry reference, host/path[:tag][@digest] (for example
# quay.io/fedora/fedora-bootc:42); short names and transports ("docker://", "oci:", ...) are refused with
# InvalidReference. The rules are those of the D-Bus API.
#
# Errors
# ======
# Programs branch on the error name only; "message" is human-readable text for logs and users. Failure names
# used only inside the daemon (PodmanFailed, PodmanMissing, TimedOut, AuthFileInvalid) are never sent: during
# Pull and PullFromHost they are reported as PullFailed, everywhere else as StorageFailure, with the detail in
# the message. Registry credentials are never included in any error.
interface org.bootc.Storage

# One image in the store.
type Image (
  # Full 64-hex image ID, without "sha256:".
  id: string,
  # The image's names, "repo:tag" (or "repo@digest" for an image pulled by digest); empty for an image left
  # without a name.
  names: []string,
  # Manifest digest "sha256:<hex>", or "" when unknown.
  digest: string,
  # Size in bytes.
  size: int,
  # Creation time, seconds since the Unix epoch (UTC).
  created: int
)

# One queued or running job.
type Job (
  # The job's number; ids start at 1 and are never reused while the daemon runs (the same ids as on D-Bus).
  id: int,
  # What the job does: "pull", "pull-from-host", "remove", "prune" or "gc" (the method that started it; the
  # same words as the Kind property on D-Bus).
  kind: string,
  # What the job works on: for pull and pull-from-host the normalized reference; for remove the requested
  # entries and for prune the roots, separated by single spaces; for gc the sysroot.
  target: string,
  # "queued", "running" or "blocked" (running, but waiting for the ostree sysroot lock while bootc or ostree
  # deploys); a job leaves the list as it ends as "done", "failed" or "canceled".
  state: string,
  # Fraction done, 0.0 to 1.0, or -1.0 while unknown (always -1.0 for remove and prune).
  progress: float,
  # Bytes transferred so far; 0 when not known.
  bytesDone: int,
  # Bytes expected in all; 0 when not known.
  bytesTotal: int,
  # Layers podman has started copying so far.
  layersDone: int,
  # Layers the image has; 0 when not known.
  layersTotal: int,
  # uid of the caller that started the job (over Varlink, the peer's SO_PEERCRED uid).
  owner: int
)

# Tells whether an image is in the store, without touching the network.
method Exists(
  # Fully-qualified reference.
  image: string
) -> (
  # True when the reference names an image in the store.
  present: bool
)

# Every image in the store, one entry per image ID (an image with several names appears once).
method List() -> (
  # The images.
  images: []Image
)

# Fetches an image from its registry into the store, as a job of kind pull. Credentials come only from the
# sysroot's ostree auth.json, never from the caller. With "more": true, progress replies (continues: true)
# come first, then the final one. With "oneway": true, starts the job and returns.
method Pull(
  # Fully-qualified reference.
  image: string,
  # "missing": pull only when the image is not in the store; "always": always contact the registry and pull;
  # "newer": contact the registry; the store changes only if the image did. Anything else: InvalidArgument.
  policy: string
) -> (
  # The job doing the pull (CancelJob takes it).
  job: int,
  # Fraction done, 0.0 to 1.0, or -1.0 while unknown; 1.0 in the final reply of a pull that succeeded.
  progress: float,
  # Bytes transferred so far; 0 when not known.
  bytesDone: int,
  # Bytes expected in all; 0 when not known (yet).
  bytesTotal: int,
  # Layers podman has started copying so far.
  layersDone: int,
  # Layers the image has; 0 when not known (yet).
  layersTotal: int,
  # Only in the final reply. missing: true when the image was pulled, false when it was already present;
  # always: true; newer: true only when the pull changed the image ID the reference names.
  fetched: ?bool
)

# Copies an image from the host's default container storage (the store root's podman uses, normally
# /var/lib/containers/storage) into this store, as a job of kind pull-from-host. Signatures are not copied.
method PullFromHost(
  # Fully-qualified reference, as named in the host's storage.
  image: string
) -> ()

# Removes images, as a job of kind remove. Every entry is resolved before anything is removed: if one matches
# nothing, the call fails with NotFound and the store is unchanged.
method Remove(
  # 1 to 4096 entries, each a fully-qualified reference or a 64-hex image ID (optionally "sha256:"-prefixed).
  # A tag reference removes that name only (the image goes with its last name); an image ID or a digest
  # reference removes the whole image with all its names.
  images: []string
) -> (
  # 64-hex IDs of the images deleted entirely; an image that only lost a name is not listed.
  removedIds: []string
)

# Removes every image not referenced by a root, as a job of kind prune. An image is kept when any of its names
# or repository digests equals a root, both normalized; images without names are always removed.
method Prune(
  # 1 to 4096 fully-qualified references (repo:tag or repo@digest) of the images to keep. An empty list is
  # refused with NoRoots, because it would remove every image.
  roots: []string
) -> (
  # 64-hex IDs of the images deleted.
  removedIds: []string
)

# Removes every image that no ostree deployment references (bound images and each deployment's host image,
# computed the way bootc computes them), as a job of kind gc unless dryRun. The job holds libostree's sysroot
# lock while it decides and removes; while bootc or ostree holds it the job is "blocked", and after the
# daemon's --lock-timeout it fails with SysrootLocked. A dry run takes no lock.
method GarbageCollect(
  # True to only report what would be removed: no job, nothing changes.
  dryRun: bool
) -> (
  # 64-hex IDs of the images removed (or, on a dry run, that would be).
  removedIds: []string
)

# Every queued or running job, of any owner and either transport, oldest first.
method ListJobs() -> (
  # The jobs.
  jobs: []Job
)

# Asks a job to stop: a queued job is dropped at once; a running one has its podman process stopped. Replies
# as soon as cancellation is requested; the call that started the job then fails with Canceled. Some of a
# canceled Remove or Prune may already have happened. A caller of the job withdraws itself; anyone else needs
# cancel-foreign (see Access control).
method CancelJob(
  # The job's id.
  id: int
) -> ()

# The image reference is malformed, not fully qualified, or names a transport.
error InvalidReference (
  # Human-readable detail.
  message: string
)

# An argument other than an image reference is invalid (pull policy, list empty or longer than 4096
# entries, job id).
error InvalidArgument (
  # Human-readable detail.
  message: string
)

# The named image or job does not exist (or the job has already ended).
error NotFound (
  # Human-readable detail.
  message: string
)

# The image could not be fetched (registry unreachable, unauthorized, manifest unknown, time limit exceeded).
error PullFailed (
  # Human-readable detail.
  message: string
)

# The job queue is full, or the daemon has too many Varlink connections; try again later.
error Busy (
  # Human-readable detail.
  message: string
)

# The job was canceled before it finished.
error Canceled (
  # Human-readable detail.
  message: string
)

# The store could not be created, opened, read or changed (the message names images already removed, if any).
error StorageFailure (
  # Human-readable detail.
  message: string
)

# The store cannot be created or opened: the message names the path and the cause (a file where a directory
# should be, podman missing, …). Every method answers so at once; the next write tries again.
error StoreUnavailable (
  # Human-readable detail.
  message: string
)

# The file system holding the store is itself read-only (not only the /sysroot mount, which the daemon makes
# writable in its own mount namespace), so the store cannot be created or changed.
error ReadOnlyFilesystem (
  # Human-readable detail.
  message: string
)

# GarbageCollect waited for the ostree sysroot lock (held by bootc, ostree or rpm-ostree while they deploy)
# longer than allowed; nothing was removed.
error SysrootLocked (
  # Human-readable detail.
  message: string
)

# A prune was asked with no roots, or a garbage collection found no ostree deployments; either would remove
# every image, so it is refused.
error NoRoots (
  # Human-readable detail.
  message: string
)

# GarbageCollect could not understand a deployment's bound-image quadlet or origin file (the message names the
# file); nothing was removed.
error InvalidBoundImage (
  # Human-readable detail.
  message: string
)
`;
