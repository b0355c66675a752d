use super::*;

const FILE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest} AS build
ENV A=1 B="two words" \
    C=3
ENV OLD legacy value
LABEL org.x="y" z=w
ARG V=1 W
WORKDIR /src
COPY --chown=1:1 --from=other a b /dst/
ADD ["x y", "/z"]
RUN --mount=type=cache,target=/c make && \
    make install
RUN ["echo", "exec"]
USER 1000:1000
EXPOSE 80/tcp 443
VOLUME ["/data", "/logs"]
VOLUME /one /two
HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/
SHELL ["/bin/bash", "-c"]
STOPSIGNAL SIGINT
ONBUILD RUN echo child
MAINTAINER someone
CMD ["sh"]
ENTRYPOINT exec top

from --platform=linux/amd64 scratch
COPY --from=build /out /
HEALTHCHECK NONE
"#;

#[test]
fn every_instruction_parses_into_its_kind() {
    let f = parse(FILE).unwrap();
    assert_eq!(f.escape, '\\');
    assert_eq!(
        f.global_args,
        vec![
            ("BASE".into(), Some("busybox".into())),
            ("TAG".into(), None)
        ]
    );
    assert_eq!(f.stages.len(), 2);
    let s = &f.stages[0];
    assert_eq!(s.name.as_deref(), Some("build"));
    assert_eq!(s.from.image, "${BASE}:${TAG:-latest}");
    let kinds: Vec<&Kind> = s.instructions.iter().map(|i| &i.kind).collect();
    assert_eq!(
        kinds[0],
        &Kind::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "\"two words\"".into()),
            ("C".into(), "3".into())
        ])
    );
    assert_eq!(
        kinds[1],
        &Kind::Env(vec![("OLD".into(), "legacy value".into())])
    );
    assert_eq!(
        kinds[3],
        &Kind::Arg(vec![("V".into(), Some("1".into())), ("W".into(), None)])
    );
    match kinds[5] {
        Kind::Copy {
            is_add: false,
            flags,
            words,
            ..
        } => {
            assert_eq!(flag(flags, "from").as_deref(), Some("other"));
            assert_eq!(flag(flags, "chown").as_deref(), Some("1:1"));
            assert_eq!(words, &vec!["a", "b", "/dst/"]);
        }
        other => panic!("{other:?}"),
    }
    match kinds[6] {
        Kind::Copy {
            is_add: true,
            words,
            ..
        } => assert_eq!(words, &vec!["x y", "/z"]),
        other => panic!("{other:?}"),
    }
    match kinds[7] {
        Kind::Run { flags, command, .. } => {
            assert_eq!(flags[0].0, "mount");
            assert_eq!(command, &Command::Shell("make &&     make install".into()));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(kinds[8], Kind::Run { command: Command::Exec(a), .. } if a == &vec!["echo", "exec"])
    );
    assert_eq!(kinds[10], &Kind::Expose("80/tcp 443".into()));
    assert_eq!(
        kinds[11],
        &Kind::Volume(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(kinds[12], &Kind::Volume(vec!["/one".into(), "/two".into()]));
    match kinds[13] {
        Kind::Healthcheck(Some((flags, Command::Shell(c)))) => {
            assert_eq!(flag(flags, "interval").as_deref(), Some("5s"));
            assert_eq!(c, "curl -f http://localhost/");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        kinds[14],
        &Kind::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert_eq!(kinds[16], &Kind::Onbuild("RUN echo child".into()));
    assert_eq!(kinds[18], &Kind::Cmd(Command::Exec(vec!["sh".into()])));
    assert_eq!(
        kinds[19],
        &Kind::Entrypoint(Command::Shell("exec top".into()))
    );
    let t = &f.stages[1];
    assert_eq!(t.from.image, "scratch");
    assert_eq!(t.from.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(t.instructions[1].kind, Kind::Healthcheck(None));
    assert_eq!(t.instructions[0].text, "COPY --from=build /out /");
    assert_eq!(t.instructions[0].line, 29);
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("FROM a\nFOO bar\n", "line 2: unknown instruction FOO"),
        ("RUN x\n", "line 1: RUN before the first FROM"),
        ("ARG A\n", "no FROM"),
        (
            "FROM a\nCOPY x\n",
            "line 2: COPY needs a source and a destination",
        ),
        (
            "FROM a\nRUN --bogus x\n",
            "line 2: unknown flag --bogus for RUN",
        ),
        ("FROM a\nSHELL sh -c\n", "line 2: SHELL takes a JSON array"),
        (
            "FROM a AS x\nFROM b AS X\n",
            "stage name \"x\" is used twice",
        ),
        ("FROM a b c d\n", "line 1: FROM takes IMAGE [AS NAME]"),
        ("FROM a\nENV =x\n", "line 2: ENV expects KEY=VALUE"),
        (
            "FROM a\nONBUILD FROM b\n",
            "line 2: ONBUILD cannot trigger FROM",
        ),
        (
            "FROM a\nHEALTHCHECK --retries=1\n",
            "line 2: HEALTHCHECK takes NONE",
        ),
    ];
    for (text, want) in cases {
        let e = parse(text).unwrap_err().to_string();
        assert!(e.starts_with(want), "{text:?}: {e}");
    }
}

#[test]
fn heredocs_reach_run_and_copy() {
    let f =
        parse("FROM a\nRUN <<EOF\nset -e\necho hi\nEOF\nCOPY <<conf /etc/app.conf\nk=v\nconf\n")
            .unwrap();
    match &f.stages[0].instructions[0].kind {
        Kind::Run {
            heredocs, command, ..
        } => {
            assert_eq!(command, &Command::Shell("<<EOF".into()));
            assert_eq!(heredocs[0].content, "set -e\necho hi\n");
        }
        other => panic!("{other:?}"),
    }
    match &f.stages[0].instructions[1].kind {
        Kind::Copy {
            words, heredocs, ..
        } => {
            assert_eq!(words, &vec!["<<conf", "/etc/app.conf"]);
            assert_eq!(heredocs[0].name, "conf");
        }
        other => panic!("{other:?}"),
    }
}
