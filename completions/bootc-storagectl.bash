# bash completion for bootc-storagectl(1)                                    -*- shell-script -*-
# Completes subcommands, their options and --policy values; image arguments complete from the store
# (bootc-storagectl list --json) and job ids from the daemon (bootc-storagectl jobs --json), both read-only
# and without a password prompt; after -H HOST, from that host's store (over SSH, as the command would run).
# -H completes host names as ssh does (known_hosts, ssh_config).

_bootc_storagectl_images() {
    bootc-storagectl "$@" --no-ask-password list --json 2>/dev/null |
        sed -n 's/^ *"\([^"]*[/:][^"]*\)",\{0,1\}$/\1/p'
}

_bootc_storagectl_jobs() {
    bootc-storagectl "$@" --no-ask-password jobs --json 2>/dev/null |
        sed -n 's/^ *"id": \([0-9][0-9]*\),$/\1/p'
}

_bootc_storagectl() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local global_opts='-H --host --no-ask-password -h --help -V --version'
    local commands='pull exists list images remove rm prune gc jobs watch cancel deployments bound sync help'
    local -A command_opts=(
        [pull]='--policy -q --quiet --json'
        [exists]='-q --quiet --json'
        [list]='--json'
        [images]='--json'
        [remove]='--json'
        [rm]='--json'
        [prune]='--root --json'
        [gc]='-n --dry-run --json'
        [jobs]='-w --watch --json'
        [watch]='--json'
        [cancel]='--json'
        [deployments]='--json'
        [bound]='--json'
        [sync]='--pending -q --quiet --json'
        [help]=''
    )

    # The subcommand: the first word that is neither an option nor -H's value (kept to ask that host).
    local i command=''
    local -a host=()
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == -H || ${words[i]} == --host ]]; then
            ((i + 1 < cword)) && host=(-H "${words[i + 1]}")
            ((i++))
        elif [[ ${words[i]} == --host=* ]]; then
            host=(-H "${words[i]#--host=}")
        elif [[ ${words[i]} == -H?* ]]; then
            host=(-H "${words[i]#-H}")
        elif [[ ${words[i]} != -* ]]; then
            command=${words[i]}
            break
        fi
    done

    case $prev in
        -H | --host)
            if declare -F _known_hosts_real >/dev/null; then
                _known_hosts_real -a -- "$cur"
            fi
            return
            ;;
        --policy)
            mapfile -t COMPREPLY < <(compgen -W 'missing always newer' -- "$cur")
            return
            ;;
        --root)
            mapfile -t COMPREPLY < <(compgen -W "$(_bootc_storagectl_images "${host[@]}")" -- "$cur")
            return
            ;;
    esac

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$global_opts" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        fi
        return
    fi

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${command_opts[$command]-} --no-ask-password -h --help" -- "$cur")
        return
    fi

    case $command in
        exists | remove | rm)
            mapfile -t COMPREPLY < <(compgen -W "$(_bootc_storagectl_images "${host[@]}")" -- "$cur")
            ;;
        cancel)
            mapfile -t COMPREPLY < <(compgen -W "$(_bootc_storagectl_jobs "${host[@]}")" -- "$cur")
            ;;
        help)
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            ;;
    esac
    # Image names contain ":"; keep bash from splitting them.
    if declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "$cur"
    fi
} &&
    complete -F _bootc_storagectl bootc-storagectl
