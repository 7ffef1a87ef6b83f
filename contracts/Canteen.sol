// SPDX-License-Identifier: MIT
// Canteen.sol: the desired state of a canteen cluster (nodes and services), O(1) gas per call.
pragma solidity 0.8.28;

/// @title Canteen cluster registry
/// @notice Nodes register themselves; admins approve nodes and manage services. Every call
/// costs O(1) gas whatever the number of nodes or services: node sets are arrays of keys
/// with an index map and swap-and-pop removal, and every string and array has a bounded
/// length.
///
/// Version 5 adds to ServiceSpec its Options (none or one): a health check, an update
/// policy, named volumes, stateful failover and a read-only root filesystem (issues 15
/// and 17); nothing else changed.
///
/// Version 4: services are kept in logs, not in storage. Storage holds per service only
/// what the contract itself checks, in one slot: its generation (which survives removal,
/// so a name's generations are never reused), its replicas, and the first 20 bytes of
/// keccak256 of the ServiceSpec last deployed or updated (its ABI encoding as the call
/// carried it; zero: no such service). ServiceUpserted carries exactly those bytes, so a
/// follower checks a log against the hash the chain holds; ServiceScaled and
/// ServiceRemoved carry the name and the new generation. A follower folds the three
/// events from deployBlock on (logs of old blocks are served by any full node: no archive
/// node is needed) and checks what it folded with serviceCount and serviceStates at the
/// block it folded to. Nodes are stored as before, with paged views.
///
/// Admin safety: updateService, scaleService and removeService carry the generation the
/// caller read and revert StaleGeneration(expected, actual) when another change came
/// first, so concurrent admins never overwrite each other's change. An approval covers
/// the record approved: a node that changes its endpoint, key, capacity or labels is
/// pending again. A revoked address cannot register until an admin readmits it. A swim
/// public key belongs to one address. Ownership moves in two steps (transferOwnership
/// proposes, acceptOwnership takes).
contract Canteen {
    // ---- limits (bounded lengths keep every call O(1)) ----
    uint256 public constant MAX_NAME = 63;
    uint256 public constant MAX_IMAGE = 512;
    uint256 public constant MAX_ENDPOINT = 64;   // printable ASCII without space
    uint256 public constant MAX_ITEMS = 64;      // command args, env entries
    uint256 public constant MAX_ITEM_LEN = 1024; // one command arg or env entry
    uint256 public constant MAX_LABELS = 16;     // node labels, service selector
    uint256 public constant MAX_LABEL_LEN = 64;  // one "k=v", printable ASCII
    uint256 public constant MAX_PORTS = 32;
    uint256 public constant MAX_PAGE = 1000;
    uint256 public constant MAX_VOLUMES = 8;       // named volumes of one service
    uint256 public constant MAX_VOLUME_LEN = 160;  // one "NAME:/path[:ro]"
    uint256 public constant MAX_VOLUME_NAME = 32;  // [a-z0-9][a-z0-9_-]{0,31}
    uint256 public constant MAX_PERMILLE = 1000;   // updateMaxFailurePermille

    uint8 public constant STRATEGY_SPREAD = 0;
    uint8 public constant STRATEGY_ROUNDROBIN = 1;
    uint8 public constant STRATEGY_BINPACK = 2;
    uint8 public constant PROTO_TCP = 0;
    uint8 public constant PROTO_UDP = 1;
    uint8 public constant FAILURE_PAUSE = 0;
    uint8 public constant FAILURE_ROLLBACK = 1;

    struct Port {
        uint16 host;
        uint16 container;
        uint8 proto; // PROTO_TCP or PROTO_UDP
    }

    struct Node {
        address addr;
        string endpoint;    // host:port of its SWIM agent
        bytes32 swimPubKey; // libsodium public key
        uint32 cpuMillis;
        uint32 memMiB;
        string[] labels;    // "k=v"
        bool active;
        uint64 activation;  // version 6: 1, 2, ... in the order nodes became active; 0 while pending
    }

    /// Version 5's settings of a service; a spec carries none (every field's default, at
    /// the gas of two words) or one.
    struct Options {
        // health: Docker's healthcheck (empty healthCmd: the image's own HEALTHCHECK applies)
        string[] healthCmd;        // run as CMD args; ["CMD-SHELL", cmd] runs cmd in a shell
        uint32 healthIntervalMs;   // 0: Docker's default
        uint32 healthTimeoutMs;    // 0: Docker's default
        uint32 healthStartPeriodMs;
        uint8 healthRetries;       // 0: Docker's default
        bool noHealthcheck;        // disable the image's HEALTHCHECK (healthCmd must be empty)
        // update policy (stored and shown)
        uint16 updateParallelism;  // replicas replaced at once; 0: the default (1)
        uint32 updateDelayMs;      // between batches
        uint8 updateFailureAction; // FAILURE_PAUSE or FAILURE_ROLLBACK
        uint16 updateMaxFailurePermille; // at most MAX_PERMILLE
        // storage and identity
        string[] volumes;          // "NAME:/abs/path[:ro]", at most MAX_VOLUMES, no path twice
        bool stateful;             // a replica waits failoverAfterS before moving off a dead server
        uint32 failoverAfterS;     // 0: never
        bool readOnly;             // read-only root filesystem
    }

    /// What an admin submits; the stored record adds the generation.
    struct ServiceSpec {
        string name;        // [a-z0-9][a-z0-9-]{0,62}
        string image;
        string[] command;
        string[] env;       // "K=V"
        uint32 replicas;
        uint32 cpuMillis;   // per replica
        uint32 memMiB;      // per replica
        Port[] ports;
        int32 priority;     // higher is placed first
        uint8 strategy;     // STRATEGY_*
        bool exclusive;     // only on a side that sees a majority of active nodes
        string[] selector;  // node label constraints "k=v"
        Options[] options;  // version 5: none (every default) or one
    }

    /// What the contract holds of a service (serviceState, serviceStates).
    struct ServiceState {
        bool exists;
        uint64 generation;  // bumped on every change (removal too), never reused for a name
        uint32 replicas;    // the spec's, or the last scale's
        bytes20 specHash;   // keccak256 of the spec bytes ServiceUpserted carried, first 20 bytes
    }

    // ---- errors: every refusal says why ----
    error NotOwner(address caller);
    error NotPendingOwner(address caller);
    error StaleGeneration(uint64 expected, uint64 actual);
    error Revoked(address node);
    error NotRevoked(address node);
    error SwimKeyTaken(bytes32 swimPubKey, address holder);
    error NotAdmin(address caller);
    error ZeroAddress();
    error NodeNotRegistered(address node);
    error ServiceExists(string name);
    error NoSuchService(string name);
    error InvalidName(string name);
    error InvalidReplicas();
    error StringTooLong(string field, uint256 max);
    error TooManyItems(string field, uint256 max);
    error EmptyField(string field);
    error InvalidKeyValue(string field, string item);
    error NotPrintable(string field, uint256 item); // a byte outside 0x20..0x7e (endpoint: 0x21..0x7e)
    error InvalidPort(uint16 host, uint16 container, uint8 proto);
    error InvalidStrategy(uint8 strategy);
    error InvalidResources();
    error PageTooLarge(uint256 limit, uint256 max);
    error InvalidHealth();                 // noHealthcheck with a healthCmd
    error InvalidUpdatePolicy(uint8 failureAction, uint16 maxFailurePermille);
    error InvalidVolume(uint256 item);     // not NAME:/path[:ro]
    error VolumePathTwice(uint256 item);   // its path is an earlier item's

    // ---- events ----
    event OwnershipTransferStarted(address indexed owner, address indexed pendingOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AdminChanged(address indexed admin, bool enabled);
    event RegistrationOpenChanged(bool open);
    event NodeUpserted(address indexed addr, Node node);
    event NodeRemoved(address indexed addr);
    event NodeRevoked(address indexed addr, bool revoked);
    /// spec is the ServiceSpec tuple's ABI encoding as the call carried it (its head first;
    /// it holds the name, whose keccak256 is nameHash); the first 20 bytes of its keccak256
    /// are the specHash serviceStates reports.
    event ServiceUpserted(bytes32 indexed nameHash, uint64 generation, bytes spec);
    event ServiceScaled(bytes32 indexed nameHash, string name, uint64 generation, uint32 replicas);
    event ServiceRemoved(bytes32 indexed nameHash, string name, uint64 generation);

    // ---- state ----
    address public owner;
    /// The number of services, in owner's slot: onlyAdmin has read it already, so counting
    /// costs one warm write, and the slot is never zero.
    uint64 private services;
    address public pendingOwner;
    bool public registrationOpen;
    uint64 private activations;  // the last activation given (packed with the two above)
    mapping(address => bool) private admins;

    address[] private nodeKeys;
    mapping(address => uint256) private nodeIndex; // position + 1; 0 = absent
    mapping(address => Node) private nodes;
    mapping(address => bool) public revoked;          // until an admin readmits it
    mapping(bytes32 => address) public swimKeyHolder; // one address per swim public key

    /// A service in one slot: the first 20 bytes of keccak256 of its spec (zero: no such
    /// service), its generation (which survives removal) and its replicas.
    struct Slot {
        bytes20 specHash;
        uint64 generation;
        uint32 replicas;
    }

    mapping(bytes32 => Slot) private serviceSlot;

    /// The block the contract was created in: where a follower starts reading logs.
    uint256 public immutable deployBlock;

    constructor() {
        owner = msg.sender;
        deployBlock = block.number;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// The interface version clients check before they act (version 1 had no version();
    /// version 3 added generations to service changes and ServiceScaled; version 4 keeps
    /// services in logs; version 5 adds health, update policy, volumes, stateful, readOnly;
    /// version 6 adds a node's activation, the order in which nodes became active).
    function version() external pure returns (uint256) {
        return 6;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyAdmin() {
        if (msg.sender != owner && !admins[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    // ---- roles ----

    /// Proposes a new owner, who takes over with acceptOwnership (a later proposal
    /// replaces this one); a mistyped address thus never locks the contract.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    function setAdmin(address admin, bool enabled) external onlyOwner {
        if (admin == address(0)) revert ZeroAddress();
        admins[admin] = enabled;
        emit AdminChanged(admin, enabled);
    }

    function isAdmin(address who) external view returns (bool) {
        return who == owner || admins[who];
    }

    /// When open, a registering node is active at once, without an admin's approval.
    function setRegistrationOpen(bool open) external onlyOwner {
        registrationOpen = open;
        emit RegistrationOpenChanged(open);
    }

    // ---- nodes ----

    /// A node registers (or updates) its own record, from its own key. An approval covers
    /// the record approved: a change of endpoint, key, capacity or labels makes the node
    /// pending again (active only while registration is open). Becoming active gives the
    /// node the next activation number (binpack fills older nodes first). A revoked address is
    /// refused until an admin readmits it; a swim public key another address holds is refused.
    function registerNode(
        string calldata endpoint,
        bytes32 swimPubKey,
        uint32 cpuMillis,
        uint32 memMiB,
        string[] calldata labels
    ) external {
        if (revoked[msg.sender]) revert Revoked(msg.sender);
        uint256 n = bytes(endpoint).length;
        if (n == 0) revert EmptyField("endpoint");
        if (n > MAX_ENDPOINT) revert StringTooLong("endpoint", MAX_ENDPOINT);
        if (!_printable(bytes(endpoint), 0x21)) revert NotPrintable("endpoint", 0);
        if (swimPubKey == bytes32(0)) revert EmptyField("swimPubKey");
        if (cpuMillis == 0 || memMiB == 0) revert InvalidResources();
        _checkLabels(F_LABELS, labels);
        address holder = swimKeyHolder[swimPubKey];
        if (holder != address(0) && holder != msg.sender) revert SwimKeyTaken(swimPubKey, holder);

        Node storage rec = nodes[msg.sender];
        if (nodeIndex[msg.sender] == 0) {
            nodeKeys.push(msg.sender);
            nodeIndex[msg.sender] = nodeKeys.length;
            rec.addr = msg.sender;
            if (registrationOpen) {
                rec.active = true;
                rec.activation = ++activations;
            }
        } else if (rec.active && !registrationOpen && (
            rec.swimPubKey != swimPubKey || rec.cpuMillis != cpuMillis || rec.memMiB != memMiB ||
            keccak256(bytes(rec.endpoint)) != keccak256(bytes(endpoint)) ||
            keccak256(abi.encode(rec.labels)) != keccak256(abi.encode(labels)))) {
            rec.active = false;
            rec.activation = 0;
        }
        if (rec.swimPubKey != swimPubKey) {
            if (rec.swimPubKey != bytes32(0)) delete swimKeyHolder[rec.swimPubKey];
            swimKeyHolder[swimPubKey] = msg.sender;
        }
        rec.endpoint = endpoint;
        rec.swimPubKey = swimPubKey;
        rec.cpuMillis = cpuMillis;
        rec.memMiB = memMiB;
        rec.labels = labels;
        emit NodeUpserted(msg.sender, rec);
    }

    /// A node leaves the cluster of its own accord.
    function unregisterNode() external {
        if (nodeIndex[msg.sender] == 0) revert NodeNotRegistered(msg.sender);
        _removeNode(msg.sender);
    }

    function approveNode(address addr) external onlyAdmin {
        if (nodeIndex[addr] == 0) revert NodeNotRegistered(addr);
        Node storage rec = nodes[addr];
        if (!rec.active) {
            rec.active = true;
            rec.activation = ++activations;
        }
        emit NodeUpserted(addr, rec);
    }

    /// Removes the node's record; the address cannot register again until readmitted.
    function revokeNode(address addr) external onlyAdmin {
        if (nodeIndex[addr] == 0) revert NodeNotRegistered(addr);
        _removeNode(addr);
        revoked[addr] = true;
        emit NodeRevoked(addr, true);
    }

    /// Lets a revoked address register again (and wait for a new approval).
    function readmitNode(address addr) external onlyAdmin {
        if (!revoked[addr]) revert NotRevoked(addr);
        revoked[addr] = false;
        emit NodeRevoked(addr, false);
    }

    function _removeNode(address addr) private {
        uint256 pos = nodeIndex[addr] - 1;
        uint256 last = nodeKeys.length - 1;
        if (pos != last) {
            address moved = nodeKeys[last];
            nodeKeys[pos] = moved;
            nodeIndex[moved] = pos + 1;
        }
        nodeKeys.pop();
        delete nodeIndex[addr];
        delete swimKeyHolder[nodes[addr].swimPubKey];
        delete nodes[addr];
        emit NodeRemoved(addr);
    }

    function nodeCount() external view returns (uint256) {
        return nodeKeys.length;
    }

    function getNode(address addr) external view returns (Node memory) {
        if (nodeIndex[addr] == 0) revert NodeNotRegistered(addr);
        return nodes[addr];
    }

    /// Nodes [offset, offset+limit) in set order; fewer at the end. Call at a fixed block
    /// tag for a consistent snapshot.
    function getNodes(uint256 offset, uint256 limit) external view returns (Node[] memory page) {
        uint256 end = _pageEnd(offset, limit, nodeKeys.length);
        page = new Node[](end - offset);
        for (uint256 i = offset; i < end; i++) page[i - offset] = nodes[nodeKeys[i]];
    }

    // ---- services ----

    function addService(ServiceSpec calldata spec) external onlyAdmin {
        _checkSpec(spec);
        bytes32 key = keccak256(bytes(spec.name));
        Slot memory m = serviceSlot[key];
        if (m.specHash != 0) revert ServiceExists(spec.name);
        _upsert(key, spec, m.generation + 1);
        services++;
    }

    /// Replaces every field of an existing service (the name identifies it) whose
    /// generation is still the one the caller read.
    function updateService(ServiceSpec calldata spec, uint64 generation) external onlyAdmin {
        _checkFields(spec); // the name: it exists, so it passed _checkName when added
        bytes32 key = keccak256(bytes(spec.name));
        _current(key, spec.name, generation);
        _upsert(key, spec, generation + 1);
    }

    function scaleService(string calldata name, uint32 replicas, uint64 generation) external onlyAdmin {
        if (replicas == 0) revert InvalidReplicas();
        bytes32 key = keccak256(bytes(name));
        _current(key, name, generation);
        uint64 g = generation + 1;
        serviceSlot[key].replicas = replicas;
        serviceSlot[key].generation = g;
        emit ServiceScaled(key, name, g, replicas);
    }

    function removeService(string calldata name, uint64 generation) external onlyAdmin {
        bytes32 key = keccak256(bytes(name));
        _current(key, name, generation);
        uint64 g = generation + 1;
        serviceSlot[key] = Slot(0, g, 0);
        services--;
        emit ServiceRemoved(key, name, g);
    }

    function serviceCount() external view returns (uint256) {
        return services;
    }

    function serviceState(string calldata name) external view returns (ServiceState memory) {
        return _state(keccak256(bytes(name)));
    }

    /// The state of each service keccak256(name) in keys (at most MAX_PAGE): call at the
    /// block a follower folded logs to, and compare.
    function serviceStates(bytes32[] calldata keys) external view returns (ServiceState[] memory page) {
        if (keys.length > MAX_PAGE) revert PageTooLarge(keys.length, MAX_PAGE);
        page = new ServiceState[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) page[i] = _state(keys[i]);
    }

    function _state(bytes32 key) private view returns (ServiceState memory) {
        Slot memory m = serviceSlot[key];
        return ServiceState(m.specHash != 0, m.generation, m.replicas, m.specHash);
    }

    /// The service exists at the generation the caller read.
    function _current(bytes32 key, string calldata name, uint64 generation) private view {
        Slot memory m = serviceSlot[key];
        if (m.specHash == 0) revert NoSuchService(name);
        if (m.generation != generation) revert StaleGeneration(generation, m.generation);
    }

    /// The spec's bytes are its encoding as the call carries it, from the tuple's head to
    /// the end of the call (the spec is the call's last dynamic argument): what the checks
    /// above read, with no re-encoding (which would cost more than the rest of an update).
    /// They are copied to memory once, as ServiceUpserted's data (generation, bytes), for
    /// both the hash and the log.
    function _upsert(bytes32 key, ServiceSpec calldata spec, uint64 g) private {
        bytes32 topic = ServiceUpserted.selector;
        bytes32 h;
        assembly {
            let at := spec
            let len := sub(calldatasize(), at)
            let p := mload(0x40)
            mstore(p, g)
            mstore(add(p, 0x20), 0x40)
            mstore(add(p, 0x40), len)
            calldatacopy(add(p, 0x60), at, len)
            mstore(add(add(p, 0x60), len), 0) // the padding to a whole word
            h := keccak256(add(p, 0x60), len)
            log2(p, add(0x60, and(add(len, 31), not(31))), topic, key)
        }
        serviceSlot[key] = Slot(bytes20(h), g, spec.replicas);
    }

    /// The end of page [offset, offset+limit) of a set of total keys (offset past the end: empty).
    function _pageEnd(uint256 offset, uint256 limit, uint256 total) private pure returns (uint256) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        if (offset >= total) return offset;
        return total - offset > limit ? offset + limit : total;
    }

    // ---- validation (loops are over bounded input, never over the sets) ----

    function _checkSpec(ServiceSpec calldata spec) private pure {
        _checkName(spec.name);
        _checkFields(spec);
    }

    /// Everything of a spec but its name.
    function _checkFields(ServiceSpec calldata spec) private pure {
        uint256 n = bytes(spec.image).length;
        if (n == 0) revert EmptyField("image");
        if (n > MAX_IMAGE) revert StringTooLong("image", MAX_IMAGE);
        if (spec.replicas == 0) revert InvalidReplicas();
        if (spec.strategy > STRATEGY_BINPACK) revert InvalidStrategy(spec.strategy);
        if (spec.command.length > MAX_ITEMS) revert TooManyItems("command", MAX_ITEMS);
        for (uint256 i = 0; i < spec.command.length; ) {
            if (_item(spec.command, i).length > MAX_ITEM_LEN) revert StringTooLong("command", MAX_ITEM_LEN);
            unchecked { ++i; }
        }
        _checkKeyValues(F_ENV, spec.env, MAX_ITEMS, MAX_ITEM_LEN, 0);
        _checkLabels(F_SELECTOR, spec.selector);
        if (spec.ports.length > MAX_PORTS) revert TooManyItems("ports", MAX_PORTS);
        Port[] calldata ports = spec.ports; // its length is checked against the call's
        for (uint256 i = 0; i < ports.length; ) {
            // The three words of ports[i], read as words: their ranges are checked here.
            uint256 host;
            uint256 cont;
            uint256 proto;
            assembly {
                let q := add(ports.offset, mul(i, 96))
                host := calldataload(q)
                cont := calldataload(add(q, 32))
                proto := calldataload(add(q, 64))
            }
            if (host == 0 || host > 0xffff || cont == 0 || cont > 0xffff || proto > PROTO_UDP)
                revert InvalidPort(uint16(host), uint16(cont), uint8(proto));
            unchecked { ++i; }
        }
        // options is most often empty: its length word, read directly, costs least (an
        // offset past the call reads as 0; the followers' decoder refuses such a record)
        uint256 nopt;
        assembly {
            nopt := calldataload(add(spec, calldataload(add(spec, 384))))
        }
        if (nopt > 0) _checkOptions(spec.options);
    }

    /// Version 5's fields. The scalars not read here (durations, counts, flags) are, like
    /// cpuMillis, checked by the followers' decoder: a word wider than its type is a record
    /// no client made, and is left out.
    function _checkOptions(Options[] calldata options) private pure {
        if (options.length > 1) revert TooManyItems("options", 1);
        Options calldata o = options[0];
        string[] calldata hc = o.healthCmd;
        if (hc.length > 0) {
            if (o.noHealthcheck) revert InvalidHealth();
            if (hc.length > MAX_ITEMS) revert TooManyItems("healthCmd", MAX_ITEMS);
            for (uint256 i = 0; i < hc.length; ) {
                if (_item(hc, i).length > MAX_ITEM_LEN) revert StringTooLong("healthCmd", MAX_ITEM_LEN);
                unchecked { ++i; }
            }
        }
        uint8 fa = o.updateFailureAction;
        uint16 pm = o.updateMaxFailurePermille;
        if (fa > FAILURE_ROLLBACK || pm > MAX_PERMILLE) revert InvalidUpdatePolicy(fa, pm);
        if (o.volumes.length > 0) _checkVolumes(o.volumes);
    }

    /// "NAME:/path[:ro]": NAME [a-z0-9][a-z0-9_-]{0,31}, path "/" and at least one more
    /// byte of 0x21..0x7e but ':'; no path twice.
    function _checkVolumes(string[] calldata vols) private pure {
        if (vols.length > MAX_VOLUMES) revert TooManyItems("volumes", MAX_VOLUMES);
        bytes32[] memory paths = new bytes32[](vols.length);
        for (uint256 i = 0; i < vols.length; ) {
            bytes calldata b = _item(vols, i);
            if (b.length > MAX_VOLUME_LEN) revert StringTooLong("volumes", MAX_VOLUME_LEN);
            uint256 k = 0;
            while (k < b.length && k <= MAX_VOLUME_NAME) {
                uint8 c = _at(b, k);
                if (c == 0x3a) break;
                bool ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
                          (k > 0 && (c == 0x2d || c == 0x5f));
                if (!ok) revert InvalidVolume(i);
                unchecked { ++k; }
            }
            // k: the first ':'; the path starts after it
            if (k == 0 || k > MAX_VOLUME_NAME || k + 1 >= b.length || _at(b, k) != 0x3a ||
                _at(b, k + 1) != 0x2f) revert InvalidVolume(i);
            uint256 end = b.length;
            if (end - k > 4 && _at(b, end - 3) == 0x3a && _at(b, end - 2) == 0x72 && _at(b, end - 1) == 0x6f)
                end -= 3;
            if (end - k < 3) revert InvalidVolume(i); // ":/" and one more byte at least
            for (uint256 j = k + 1; j < end; ) {
                uint8 c = _at(b, j);
                if (c < 0x21 || c > 0x7e || c == 0x3a) revert InvalidVolume(i);
                unchecked { ++j; }
            }
            bytes32 h = keccak256(b[k + 1:end]);
            for (uint256 j = 0; j < i; ) {
                if (paths[j] == h) revert VolumePathTwice(i);
                unchecked { ++j; }
            }
            paths[i] = h;
            unchecked { ++i; }
        }
    }

    function _checkName(string calldata name) private pure {
        bytes calldata b = bytes(name);
        if (b.length == 0 || b.length > MAX_NAME) revert InvalidName(name);
        for (uint256 i = 0; i < b.length; ) {
            bytes1 c = bytes1(_at(b, i));
            bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || (c == "-" && i > 0);
            if (!ok) revert InvalidName(name);
            unchecked { ++i; }
        }
    }

    /// items[i] for i < items.length (the callers' loops bound i), read as the ABI lays it
    /// out (an offset from the list's first item, then length and bytes): Solidity's checked
    /// access costs several hundred gas an item. Reverts when the item runs past the call.
    function _item(string[] calldata items, uint256 i) private pure returns (bytes calldata b) {
        assembly {
            let off := calldataload(add(items.offset, shl(5, i)))
            if gt(off, calldatasize()) { revert(0, 0) }
            let p := add(items.offset, off)
            let n := calldataload(p)
            if or(gt(n, calldatasize()), gt(add(add(p, 32), n), calldatasize())) { revert(0, 0) }
            b.offset := add(p, 32)
            b.length := n
        }
    }

    /// b[i] for i < b.length (the callers' loops bound i): without the bounds check an
    /// index into calldata costs, which is most of a validation loop's gas.
    function _at(bytes calldata b, uint256 i) private pure returns (uint8 c) {
        assembly { c := byte(0, calldataload(add(b.offset, i))) }
    }

    // Which list a check is about: its name is made only when the check fails (a string
    // built for every call costs more gas than the check).
    uint256 private constant F_ENV = 0;
    uint256 private constant F_LABELS = 1;
    uint256 private constant F_SELECTOR = 2;

    function _fieldName(uint256 field) private pure returns (string memory) {
        return field == F_ENV ? "env" : field == F_LABELS ? "labels" : "selector";
    }

    /// Labels and selectors: at most MAX_LABELS "k=v" items of MAX_LABEL_LEN printable
    /// ASCII bytes, so that no stranger's record can carry control bytes or bulk.
    function _checkLabels(uint256 field, string[] calldata items) private pure {
        _checkKeyValues(field, items, MAX_LABELS, MAX_LABEL_LEN, 0x20);
    }

    /// Every byte of b in [lo, 0x7e].
    function _printable(bytes calldata b, uint8 lo) private pure returns (bool) {
        for (uint256 i = 0; i < b.length; ) {
            uint8 c = _at(b, i);
            if (c < lo || c > 0x7e) return false;
            unchecked { ++i; }
        }
        return true;
    }

    /// Each item is "k=v" with a non-empty key that holds no "=", of at most maxLen bytes,
    /// all printable (from lo) unless lo is 0.
    function _checkKeyValues(uint256 field, string[] calldata items, uint256 maxItems,
                             uint256 maxLen, uint8 lo) private pure {
        if (items.length > maxItems) revert TooManyItems(_fieldName(field), maxItems);
        for (uint256 i = 0; i < items.length; ) {
            bytes calldata b = _item(items, i);
            if (b.length > maxLen) revert StringTooLong(_fieldName(field), maxLen);
            // the first "=" (at == b.length: none), and whether a byte is outside [lo, 0x7e]
            // when lo is not 0: byte loops in assembly cost a third of Solidity's
            uint256 at;
            uint256 bad;
            assembly {
                let end := add(b.offset, b.length)
                let p := b.offset
                for {} and(lt(p, end), iszero(eq(byte(0, calldataload(p)), 0x3d))) {} { p := add(p, 1) }
                at := sub(p, b.offset)
                if lo {
                    for { p := b.offset } lt(p, end) { p := add(p, 1) } {
                        let c := byte(0, calldataload(p))
                        if or(lt(c, lo), gt(c, 0x7e)) { bad := 1 }
                    }
                }
            }
            if (at == 0 || at == b.length) revert InvalidKeyValue(_fieldName(field), items[i]);
            if (bad != 0) revert NotPrintable(_fieldName(field), i);
            unchecked { ++i; }
        }
    }
}
