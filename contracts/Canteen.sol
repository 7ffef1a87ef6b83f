// SPDX-License-Identifier: MIT
// Canteen.sol: the desired state of a canteen cluster (nodes and services), O(1) gas per call.
pragma solidity 0.8.28;

/// @title Canteen cluster registry
/// @notice Nodes register themselves; admins approve nodes and manage services. Every call
/// costs O(1) gas whatever the number of nodes or services: sets are arrays of keys with an
/// index map and swap-and-pop removal, and every string and array has a bounded length.
///
/// Version 3. Events: every node change and every service add or update emits one event
/// carrying the full new record (built from the call's input, not read back from storage);
/// a scale emits only ServiceScaled(name, replicas, generation), which a follower applies
/// to the record it holds. A follower thus catches up from logs alone (no archive node:
/// logs of old blocks are served by any full node), after one snapshot of the paged views
/// at the block it starts from.
///
/// Admin safety: each service's position and generation share one slot (the generation
/// survives removal, so a name's generations are never reused); updateService,
/// scaleService and removeService carry the generation the caller read and revert
/// StaleGeneration(expected, actual) when another change came first, so concurrent admins
/// never overwrite each other's change. An approval covers the record approved: a node
/// that changes its endpoint, key, capacity or labels is pending again. A revoked address
/// cannot register until an admin readmits it. A swim public key belongs to one address.
/// Ownership moves in two steps (transferOwnership proposes, acceptOwnership takes).
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

    uint8 public constant STRATEGY_SPREAD = 0;
    uint8 public constant STRATEGY_ROUNDROBIN = 1;
    uint8 public constant STRATEGY_BINPACK = 2;
    uint8 public constant PROTO_TCP = 0;
    uint8 public constant PROTO_UDP = 1;

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
    }

    /// What the views return and ServiceUpserted carries.
    struct Service {
        string name;
        string image;
        string[] command;
        string[] env;
        uint32 replicas;
        uint32 cpuMillis;
        uint32 memMiB;
        Port[] ports;
        int32 priority;
        uint8 strategy;
        bool exclusive;
        string[] selector;
        uint64 generation;  // bumped on every change, never reused for a name
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

    // ---- events ----
    event OwnershipTransferStarted(address indexed owner, address indexed pendingOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AdminChanged(address indexed admin, bool enabled);
    event RegistrationOpenChanged(bool open);
    event NodeUpserted(address indexed addr, Node node);
    event NodeRemoved(address indexed addr);
    event NodeRevoked(address indexed addr, bool revoked);
    event ServiceUpserted(bytes32 indexed key, Service service);
    event ServiceScaled(bytes32 indexed key, string name, uint32 replicas, uint64 generation);
    event ServiceRemoved(bytes32 indexed key, string name);

    // ---- state ----
    address public owner;
    address public pendingOwner;
    bool public registrationOpen;
    mapping(address => bool) private admins;

    address[] private nodeKeys;
    mapping(address => uint256) private nodeIndex; // position + 1; 0 = absent
    mapping(address => Node) private nodes;
    mapping(address => bool) public revoked;          // until an admin readmits it
    mapping(bytes32 => address) public swimKeyHolder; // one address per swim public key

    /// A service's place in serviceKeys and its generation, in one slot.
    struct Meta {
        uint64 index;      // position + 1; 0 = absent
        uint64 generation; // of the current (or last) record; survives removal
    }

    /// The stored record: the numbers share one slot; the generation is in Meta.
    struct Stored {
        string name;
        string image;
        string[] command;
        string[] env;
        uint32 replicas;
        uint32 cpuMillis;
        uint32 memMiB;
        int32 priority;
        uint8 strategy;
        bool exclusive;
        Port[] ports;
        string[] selector;
    }

    bytes32[] private serviceKeys;
    mapping(bytes32 => Meta) private serviceMeta;
    mapping(bytes32 => Stored) private services;

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// The interface version clients check before they act (version 1 had no version();
    /// version 3 added generations to service changes and ServiceScaled).
    function version() external pure returns (uint256) {
        return 3;
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
    /// pending again (active only while registration is open). A revoked address is
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
        _checkLabels("labels", labels);
        address holder = swimKeyHolder[swimPubKey];
        if (holder != address(0) && holder != msg.sender) revert SwimKeyTaken(swimPubKey, holder);

        Node storage rec = nodes[msg.sender];
        if (nodeIndex[msg.sender] == 0) {
            nodeKeys.push(msg.sender);
            nodeIndex[msg.sender] = nodeKeys.length;
            rec.addr = msg.sender;
            rec.active = registrationOpen;
        } else if (rec.active && !registrationOpen && (
            rec.swimPubKey != swimPubKey || rec.cpuMillis != cpuMillis || rec.memMiB != memMiB ||
            keccak256(bytes(rec.endpoint)) != keccak256(bytes(endpoint)) ||
            keccak256(abi.encode(rec.labels)) != keccak256(abi.encode(labels)))) {
            rec.active = false;
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
        rec.active = true;
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
        Meta storage m = serviceMeta[key];
        if (m.index != 0) revert ServiceExists(spec.name);
        serviceKeys.push(key);
        uint64 g = m.generation + 1;
        (m.index, m.generation) = (uint64(serviceKeys.length), g);
        Stored storage rec = services[key];
        rec.name = spec.name;
        _store(rec, spec);
        emit ServiceUpserted(key, _record(spec, g));
    }

    /// Replaces every field of an existing service (the name identifies it) whose
    /// generation is still the one the caller read.
    function updateService(ServiceSpec calldata spec, uint64 generation) external onlyAdmin {
        _checkSpec(spec);
        bytes32 key = keccak256(bytes(spec.name));
        uint64 g = _bump(key, spec.name, generation);
        _store(services[key], spec);
        emit ServiceUpserted(key, _record(spec, g));
    }

    function scaleService(string calldata name, uint32 replicas, uint64 generation) external onlyAdmin {
        bytes32 key = keccak256(bytes(name));
        if (replicas == 0) revert InvalidReplicas();
        uint64 g = _bump(key, name, generation);
        services[key].replicas = replicas;
        emit ServiceScaled(key, name, replicas, g);
    }

    function removeService(string calldata name, uint64 generation) external onlyAdmin {
        bytes32 key = keccak256(bytes(name));
        Meta storage m = serviceMeta[key];
        uint256 idx = m.index;
        if (idx == 0) revert NoSuchService(name);
        if (m.generation != generation) revert StaleGeneration(generation, m.generation);
        uint256 last = serviceKeys.length - 1;
        if (idx - 1 != last) {
            bytes32 moved = serviceKeys[last];
            serviceKeys[idx - 1] = moved;
            serviceMeta[moved].index = uint64(idx);
        }
        serviceKeys.pop();
        m.index = 0;
        delete services[key];
        emit ServiceRemoved(key, name);
    }

    function serviceCount() external view returns (uint256) {
        return serviceKeys.length;
    }

    function getService(string calldata name) external view returns (Service memory) {
        bytes32 key = keccak256(bytes(name));
        if (serviceMeta[key].index == 0) revert NoSuchService(name);
        return _view(key);
    }

    /// Services [offset, offset+limit) in set order; fewer at the end.
    function getServices(uint256 offset, uint256 limit) external view returns (Service[] memory page) {
        uint256 end = _pageEnd(offset, limit, serviceKeys.length);
        page = new Service[](end - offset);
        for (uint256 i = offset; i < end; i++) page[i - offset] = _view(serviceKeys[i]);
    }

    /// The end of page [offset, offset+limit) of a set of total keys (offset past the end: empty).
    function _pageEnd(uint256 offset, uint256 limit, uint256 total) private pure returns (uint256) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        if (offset >= total) return offset;
        return total - offset > limit ? offset + limit : total;
    }

    function _store(Stored storage rec, ServiceSpec calldata spec) private {
        rec.image = spec.image;
        rec.command = spec.command;
        rec.env = spec.env;
        (rec.replicas, rec.cpuMillis, rec.memMiB, rec.priority, rec.strategy, rec.exclusive) =
            (spec.replicas, spec.cpuMillis, spec.memMiB, spec.priority, spec.strategy, spec.exclusive);
        delete rec.ports;
        for (uint256 i = 0; i < spec.ports.length; i++) rec.ports.push(spec.ports[i]);
        rec.selector = spec.selector;
    }

    /// The next generation of an existing service the caller read at generation.
    function _bump(bytes32 key, string calldata name, uint64 generation) private returns (uint64 g) {
        Meta storage m = serviceMeta[key];
        if (m.index == 0) revert NoSuchService(name);
        if (m.generation != generation) revert StaleGeneration(generation, m.generation);
        g = generation + 1;
        m.generation = g;
    }

    /// The record an event carries, from the call's input (cheaper than reading it back).
    function _record(ServiceSpec calldata spec, uint64 g) private pure returns (Service memory) {
        return Service(spec.name, spec.image, spec.command, spec.env, spec.replicas, spec.cpuMillis,
                       spec.memMiB, spec.ports, spec.priority, spec.strategy, spec.exclusive,
                       spec.selector, g);
    }

    function _view(bytes32 key) private view returns (Service memory) {
        Stored storage r = services[key];
        return Service(r.name, r.image, r.command, r.env, r.replicas, r.cpuMillis, r.memMiB,
                       r.ports, r.priority, r.strategy, r.exclusive, r.selector,
                       serviceMeta[key].generation);
    }

    // ---- validation (loops are over bounded input, never over the sets) ----

    function _checkSpec(ServiceSpec calldata spec) private pure {
        _checkName(spec.name);
        uint256 n = bytes(spec.image).length;
        if (n == 0) revert EmptyField("image");
        if (n > MAX_IMAGE) revert StringTooLong("image", MAX_IMAGE);
        if (spec.replicas == 0) revert InvalidReplicas();
        if (spec.strategy > STRATEGY_BINPACK) revert InvalidStrategy(spec.strategy);
        if (spec.command.length > MAX_ITEMS) revert TooManyItems("command", MAX_ITEMS);
        for (uint256 i = 0; i < spec.command.length; i++)
            if (bytes(spec.command[i]).length > MAX_ITEM_LEN) revert StringTooLong("command", MAX_ITEM_LEN);
        _checkKeyValues("env", spec.env, MAX_ITEMS, MAX_ITEM_LEN);
        _checkLabels("selector", spec.selector);
        if (spec.ports.length > MAX_PORTS) revert TooManyItems("ports", MAX_PORTS);
        for (uint256 i = 0; i < spec.ports.length; i++) {
            Port calldata p = spec.ports[i];
            if (p.host == 0 || p.container == 0 || p.proto > PROTO_UDP)
                revert InvalidPort(p.host, p.container, p.proto);
        }
    }

    function _checkName(string calldata name) private pure {
        bytes calldata b = bytes(name);
        if (b.length == 0 || b.length > MAX_NAME) revert InvalidName(name);
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || (c == "-" && i > 0);
            if (!ok) revert InvalidName(name);
        }
    }

    /// Labels and selectors: at most MAX_LABELS "k=v" items of MAX_LABEL_LEN printable
    /// ASCII bytes, so that no stranger's record can carry control bytes or bulk.
    function _checkLabels(string memory field, string[] calldata items) private pure {
        _checkKeyValues(field, items, MAX_LABELS, MAX_LABEL_LEN);
        for (uint256 i = 0; i < items.length; i++)
            if (!_printable(bytes(items[i]), 0x20)) revert NotPrintable(field, i);
    }

    /// Every byte of b in [lo, 0x7e].
    function _printable(bytes calldata b, uint8 lo) private pure returns (bool) {
        for (uint256 i = 0; i < b.length; i++) {
            uint8 c = uint8(b[i]);
            if (c < lo || c > 0x7e) return false;
        }
        return true;
    }

    /// Each item is "k=v" with a non-empty key that holds no "=".
    function _checkKeyValues(string memory field, string[] calldata items, uint256 maxItems,
                             uint256 maxLen) private pure {
        if (items.length > maxItems) revert TooManyItems(field, maxItems);
        for (uint256 i = 0; i < items.length; i++) {
            bytes calldata b = bytes(items[i]);
            if (b.length > maxLen) revert StringTooLong(field, maxLen);
            uint256 eq = 0;
            while (eq < b.length && b[eq] != "=") eq++;
            if (eq == 0 || eq == b.length) revert InvalidKeyValue(field, items[i]);
        }
    }
}
