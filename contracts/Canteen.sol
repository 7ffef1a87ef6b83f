// SPDX-License-Identifier: MIT
// Canteen.sol: the desired state of a canteen cluster (nodes and services), O(1) gas per call.
pragma solidity 0.8.28;

/// @title Canteen cluster registry
/// @notice Nodes register themselves; admins approve nodes and manage services. Every call
/// costs O(1) gas whatever the number of nodes or services: sets are arrays of keys with an
/// index map and swap-and-pop removal, and every string and array has a bounded length.
/// Every change emits one event carrying the full new record.
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
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AdminChanged(address indexed admin, bool enabled);
    event RegistrationOpenChanged(bool open);
    event NodeUpserted(address indexed addr, Node node);
    event NodeRemoved(address indexed addr);
    event ServiceUpserted(bytes32 indexed key, Service service);
    event ServiceRemoved(bytes32 indexed key, string name);

    // ---- state ----
    address public owner;
    bool public registrationOpen;
    mapping(address => bool) private admins;

    address[] private nodeKeys;
    mapping(address => uint256) private nodeIndex; // position + 1; 0 = absent
    mapping(address => Node) private nodes;

    bytes32[] private serviceKeys;
    mapping(bytes32 => uint256) private serviceIndex; // position + 1; 0 = absent
    mapping(bytes32 => Service) private services;
    mapping(bytes32 => uint64) private lastGeneration; // survives removal

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// The interface version clients check before they act (version 1 had no version()).
    function version() external pure returns (uint256) {
        return 2;
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

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
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

    /// A node registers (or updates) its own record, from its own key. Updating keeps
    /// the approval: the approval belongs to the address.
    function registerNode(
        string calldata endpoint,
        bytes32 swimPubKey,
        uint32 cpuMillis,
        uint32 memMiB,
        string[] calldata labels
    ) external {
        uint256 n = bytes(endpoint).length;
        if (n == 0) revert EmptyField("endpoint");
        if (n > MAX_ENDPOINT) revert StringTooLong("endpoint", MAX_ENDPOINT);
        if (!_printable(bytes(endpoint), 0x21)) revert NotPrintable("endpoint", 0);
        if (swimPubKey == bytes32(0)) revert EmptyField("swimPubKey");
        if (cpuMillis == 0 || memMiB == 0) revert InvalidResources();
        _checkLabels("labels", labels);

        Node storage rec = nodes[msg.sender];
        if (nodeIndex[msg.sender] == 0) {
            nodeKeys.push(msg.sender);
            nodeIndex[msg.sender] = nodeKeys.length;
            rec.addr = msg.sender;
            rec.active = registrationOpen;
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

    /// Removes the node's record; it may register again and wait for a new approval.
    function revokeNode(address addr) external onlyAdmin {
        if (nodeIndex[addr] == 0) revert NodeNotRegistered(addr);
        _removeNode(addr);
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
        if (serviceIndex[key] != 0) revert ServiceExists(spec.name);
        serviceKeys.push(key);
        serviceIndex[key] = serviceKeys.length;
        Service storage rec = services[key];
        rec.name = spec.name;
        _store(rec, spec);
        _bump(key, rec);
    }

    /// Replaces every field of an existing service (the name identifies it).
    function updateService(ServiceSpec calldata spec) external onlyAdmin {
        _checkSpec(spec);
        bytes32 key = keccak256(bytes(spec.name));
        if (serviceIndex[key] == 0) revert NoSuchService(spec.name);
        Service storage rec = services[key];
        _store(rec, spec);
        _bump(key, rec);
    }

    function scaleService(string calldata name, uint32 replicas) external onlyAdmin {
        bytes32 key = keccak256(bytes(name));
        if (serviceIndex[key] == 0) revert NoSuchService(name);
        if (replicas == 0) revert InvalidReplicas();
        Service storage rec = services[key];
        rec.replicas = replicas;
        _bump(key, rec);
    }

    function removeService(string calldata name) external onlyAdmin {
        bytes32 key = keccak256(bytes(name));
        uint256 idx = serviceIndex[key];
        if (idx == 0) revert NoSuchService(name);
        uint256 last = serviceKeys.length - 1;
        if (idx - 1 != last) {
            bytes32 moved = serviceKeys[last];
            serviceKeys[idx - 1] = moved;
            serviceIndex[moved] = idx;
        }
        serviceKeys.pop();
        delete serviceIndex[key];
        delete services[key];
        emit ServiceRemoved(key, name);
    }

    function serviceCount() external view returns (uint256) {
        return serviceKeys.length;
    }

    function getService(string calldata name) external view returns (Service memory) {
        bytes32 key = keccak256(bytes(name));
        if (serviceIndex[key] == 0) revert NoSuchService(name);
        return services[key];
    }

    /// Services [offset, offset+limit) in set order; fewer at the end.
    function getServices(uint256 offset, uint256 limit) external view returns (Service[] memory page) {
        uint256 end = _pageEnd(offset, limit, serviceKeys.length);
        page = new Service[](end - offset);
        for (uint256 i = offset; i < end; i++) page[i - offset] = services[serviceKeys[i]];
    }

    /// The end of page [offset, offset+limit) of a set of total keys (offset past the end: empty).
    function _pageEnd(uint256 offset, uint256 limit, uint256 total) private pure returns (uint256) {
        if (limit > MAX_PAGE) revert PageTooLarge(limit, MAX_PAGE);
        if (offset >= total) return offset;
        return total - offset > limit ? offset + limit : total;
    }

    function _store(Service storage rec, ServiceSpec calldata spec) private {
        rec.image = spec.image;
        rec.command = spec.command;
        rec.env = spec.env;
        rec.replicas = spec.replicas;
        rec.cpuMillis = spec.cpuMillis;
        rec.memMiB = spec.memMiB;
        delete rec.ports;
        for (uint256 i = 0; i < spec.ports.length; i++) rec.ports.push(spec.ports[i]);
        rec.priority = spec.priority;
        rec.strategy = spec.strategy;
        rec.exclusive = spec.exclusive;
        rec.selector = spec.selector;
    }

    function _bump(bytes32 key, Service storage rec) private {
        uint64 g = lastGeneration[key] + 1;
        lastGeneration[key] = g;
        rec.generation = g;
        emit ServiceUpserted(key, rec);
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
