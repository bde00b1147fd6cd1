// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Token: a plain ERC-20 (EIP-20) used by BayChain's scenarios and tests.
/// @notice The whole supply is minted to the deployer in the constructor; there is
///         no later minting, burning, pausing or ownership. Arithmetic relies on
///         Solidity 0.8's checked math, so an overdraft reverts with Panic(0x11)
///         unless it is caught by the explicit checks below, which revert with a
///         reason string a wallet can show.
contract Token {
    /// @notice EIP-20 Transfer; a mint has `from == address(0)`.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice EIP-20 Approval.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @param name_ the token's display name
    /// @param symbol_ the token's ticker
    /// @param initialSupply the whole supply, in the smallest unit, credited to the deployer
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) {
        name = name_;
        symbol = symbol_;
        totalSupply = initialSupply;
        balanceOf[msg.sender] = initialSupply;
        emit Transfer(address(0), msg.sender, initialSupply);
    }

    /// @notice Move `value` from the caller to `to`.
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    /// @notice Let `spender` move up to `value` of the caller's tokens (replaces, does not add).
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Move `value` from `from` to `to` using the caller's allowance.
    /// @dev An allowance of type(uint256).max is treated as unlimited and not decreased.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "Token: allowance too low");
        if (allowed != type(uint256).max) {
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        require(to != address(0), "Token: transfer to the zero address");
        uint256 held = balanceOf[from];
        require(held >= value, "Token: balance too low");
        balanceOf[from] = held - value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
