# bash completion for alfwrapper and alfctl. Options, verbs, filter names
# and map names come from the tools themselves (--help, --list-filters,
# --list-maps), so they follow the installed version.

# The built-in filters' names.
_alfwrapper_filters() {
    "$1" --list-filters 2>/dev/null | awk '/^  [^ ]/ { print $1 }'
}

# The filter the command line names so far: -f X, --filter X, --filter=X, or
# a first argument ending in .c or .o.
_alfwrapper_named_filter() {
    local i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            -f | --filter) echo "${COMP_WORDS[i + 1]}"; return ;;
            --filter=*) echo "${word#--filter=}"; return ;;
            -f?*) echo "${word#-f}"; return ;;
            *.c | *.o) [[ $word != -* ]] && { echo "$word"; return; } ;;
        esac
    done
    # Rules and no filter: the built-in rules filter.
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in --allow | --deny | --rules-file) echo subnets; return ;; esac
    done
}

# The maps of the filter named on the command line (alfwrapper lists them;
# it is installed beside alfctl).
_alfwrapper_maps() {
    local tool=$1 filter
    filter=$(_alfwrapper_named_filter)
    [[ -n $filter ]] || return
    [[ $tool == *alfctl ]] && tool=${tool%alfctl}alfwrapper
    "$tool" -f "$filter" --list-maps 2>/dev/null | sed -n 's/^} \([A-Za-z_0-9]*\);.*$/\1/p'
}

# The running services' names, as alfctl list shows them (root only).
_alfwrapper_services() {
    "$1" list 2>/dev/null | awk '/^[^ ]/ && !/^no running/ { print $1 }'
}

# Completes the value of option $2 for tool $1; returns 1 when it takes none.
_alfwrapper_option_value() {
    local tool=$1 option=$2 cur=$3
    case $option in
        -f | --filter)
            COMPREPLY=($(compgen -W "$(_alfwrapper_filters "$tool")" -- "$cur"))
            COMPREPLY+=($(compgen -f -X '!*.[co]' -- "$cur") $(compgen -d -- "$cur"))
            ;;
        --set)
            if [[ $cur == *,* ]]; then
                COMPREPLY=()
            else
                compopt -o nospace 2>/dev/null
                COMPREPLY=($(compgen -W "$(_alfwrapper_maps "$tool")" -S , -- "$cur"))
            fi
            ;;
        --set-file | --map-size)
            if [[ $cur == *=* ]]; then
                [[ $option == --set-file ]] && COMPREPLY=($(compgen -f -- "${cur#*=}"))
            else
                compopt -o nospace 2>/dev/null
                COMPREPLY=($(compgen -W "$(_alfwrapper_maps "$tool")" -S = -- "$cur"))
            fi
            ;;
        -l | --listen)
            compopt -o nospace 2>/dev/null
            COMPREPLY=($(compgen -W "tcp: tcp4: tcp6: udp: udp4: udp6: unix: unixdgram:" -- "$cur"))
            ;;
        --type) COMPREPLY=($(compgen -W "SOCK_STREAM SOCK_DGRAM" -- "$cur")) ;;
        --expect) COMPREPLY=($(compgen -W "pass drop" -- "$cur")) ;;
        -u | --user) COMPREPLY=($(compgen -u -- "$cur")) ;;
        -g | --group) COMPREPLY=($(compgen -g -- "$cur")) ;;
        -E | --setenv) COMPREPLY=($(compgen -e -- "$cur")) ;;
        --config) COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur")) ;;
        -I | --include | --cache-dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
        --rules-file | --pcap | -o | --output) COMPREPLY=($(compgen -f -- "$cur")) ;;
        --address | --port | --fdname | --allow | --deny | -D | --define | --program) COMPREPLY=() ;;
        *) return 1 ;;
    esac
    return 0
}

# The options a usage text ($@: the command that prints it) lists.
_alfwrapper_options() {
    "$@" 2>/dev/null | grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z-]*' | tr -d ' ,' | sort -u
}

_alfwrapper() {
    local tool=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} i
    # After PROGRAM (or --), complete PROGRAM's own words as commands and files.
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            COMPREPLY=($(compgen -c -- "$cur") $(compgen -f -- "$cur"))
            return
        fi
    done
    _alfwrapper_option_value "$tool" "$prev" "$cur" && return
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_alfwrapper_options "$tool" --help)" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur") $(compgen -c -- "$cur"))
    fi
}

_alfctl() {
    local tool=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local verbs="compile check test list rules stats log map filters headers help"
    # -v, -q and --json may come before the verb (alfctl -v rules web show):
    # the verb is the first other word, and n counts the words from it as if
    # it were first.
    local v=1
    while ((v < COMP_CWORD)); do
        case ${COMP_WORDS[v]} in -v | --verbose | -q | --quiet | --json) ((v++)) ;; *) break ;; esac
    done
    local verb=${COMP_WORDS[v]} n=$((COMP_CWORD - v + 1))
    if ((n == 1)); then
        local leading=""
        [[ $cur == -* ]] && leading="-v -q --json"
        COMPREPLY=($(compgen -W "$verbs --help --version $leading" -- "$cur"))
        return
    fi
    case $verb in
        help) ((n == 2)) && COMPREPLY=($(compgen -W "$verbs" -- "$cur")); return ;;
        filters) COMPREPLY=($(compgen -W "--help" -- "$cur")); return ;;
        list | stats | log)
            COMPREPLY=($(compgen -W "$(_alfwrapper_options "$tool" "$verb" --help) $(_alfwrapper_services "$tool")" -- "$cur"))
            return
            ;;
        rules)
            if ((n == 2)); then
                COMPREPLY=($(compgen -W "--help $(_alfwrapper_services "$tool")" -- "$cur"))
            elif ((n == 3)); then
                COMPREPLY=($(compgen -W "show allow deny remove replace" -- "$cur"))
            elif [[ ${COMP_WORDS[v + 2]} == replace ]]; then
                _alfwrapper_option_value "$tool" "$prev" "$cur" ||
                    COMPREPLY=($(compgen -W "--rules-file --allow --deny --json" -- "$cur"))
            fi
            return
            ;;
        map)
            # alfctl map NAME MAP ACTION KEY [VALUE]
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--json --help --" -- "$cur"))
            elif ((n == 2)); then
                COMPREPLY=($(compgen -W "$(_alfwrapper_services "$tool")" -- "$cur"))
            elif ((n == 3)); then
                # The service's maps, as alfctl map NAME lists them (after its two heading lines).
                COMPREPLY=($(compgen -W "$("$tool" map "${COMP_WORDS[v + 1]}" 2>/dev/null | awk 'NR > 2 { print $1 }')" -- "$cur"))
            elif ((n == 4)); then
                COMPREPLY=($(compgen -W "dump get set delete" -- "$cur"))
            fi
            return
            ;;
        headers) COMPREPLY=($(compgen -W "--help" -- "$cur") $(compgen -d -- "$cur")); return ;;
    esac
    _alfwrapper_option_value "$tool" "$prev" "$cur" && return
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_alfwrapper_options "$tool" "$verb" --help)" -- "$cur"))
    elif [[ $verb == compile ]]; then
        COMPREPLY=($(compgen -f -X '!*.c' -- "$cur") $(compgen -d -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(_alfwrapper_filters "$tool")" -- "$cur"))
        COMPREPLY+=($(compgen -f -X '!*.[co]' -- "$cur") $(compgen -d -- "$cur"))
    fi
}

complete -F _alfwrapper alfwrapper
complete -F _alfctl alfctl
